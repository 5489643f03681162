// Every REST door, in the order app.ts registers them (the combined OpenAPI
// document follows it). A new door is its file, one line here and its slug
// in auth/caller.ts's REST_DOOR_SLUGS: the compiler refuses the build until
// both lists name the same doors in the same order. Its routes, its document,
// its credentials, and its name in audit records all come from this list.
import type { REST_DOOR_SLUGS } from '../auth/caller.ts';
import { langwatchDoor } from './langwatch.ts';
import { openHandsDoor } from './openhands.ts';
import { togetherDoor } from './together.ts';
import { userSecretsV1Door } from './user-secrets-v1.ts';

export const DOORS = [langwatchDoor, togetherDoor, userSecretsV1Door, openHandsDoor] as const;

type SlugsOf<T extends readonly { readonly slug: string }[]> = { readonly [I in keyof T]: T[I]['slug'] };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Fails to compile when DOORS and REST_DOOR_SLUGS disagree. */
const registryMatches: Same<SlugsOf<typeof DOORS>, typeof REST_DOOR_SLUGS> = true;
void registryMatches;

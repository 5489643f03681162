// Every REST door, in the order app.ts registers them (the combined OpenAPI
// document follows it). A new door is its file and one line here: its
// routes, its document, its credentials, and its name in the `Door` type and
// the audit log all come from this list.
import { langwatchDoor } from './langwatch.ts';
import { openHandsDoor } from './openhands.ts';
import { togetherDoor } from './together.ts';
import { userSecretsV1Door } from './user-secrets-v1.ts';

export const DOORS = [langwatchDoor, togetherDoor, userSecretsV1Door, openHandsDoor] as const;

/** Every door a call can come in by, as audit records name them. */
export const DOOR_NAMES = ['graphql', ...DOORS.map((door) => door.slug), 'admin'] as const;

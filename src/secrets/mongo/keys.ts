// How the MongoDB store keys its documents: pure functions of a namespace,
// a name, a slot or an id, and nothing else. Every unique key a race is
// decided by is made here, so a newcomer reads the whole layout in one look.
//   secrets          nameKey  "<ns>/<name>"      slotKey "<ns>/<slot>"
//                    (a deleted secret: "deleted/<secretId>" in both)
//   secret_names     _id      "<ns>/<name>"      -> the secret that holds it
//   secret_versions  _id      "<secretId>:<version>"   (a snapshot's copy: "…@<snapshotId>")
//   secret_snapshots unique   (projectId, environment, name)
//   secret_fates     _id      "<secretId>:<deletedAt ms>"
//   environments     _id      "<projectId>/<slug>"
//   idempotency_keys _id      "<projectId>/<key>" ("<slug> <key>" outside "default")
//   secret_tombstones _id     "<projectId>/<slug>/<name>"
//   secret_overrides  _id     "<projectId>/<slug>/<keyId>/<name>"
// <ns> is the projectId alone in "default" (as before environments, so stored
// keys stay valid) and "<projectId>:<slug>" in any other: a slug has no ":",
// and neither has a projectId.
import { DEFAULT_ENVIRONMENT, type Namespace } from '../store.ts';

export const keyPrefixOf = (ns: Namespace) => (ns.environment === DEFAULT_ENVIRONMENT ? ns.projectId : `${ns.projectId}:${ns.environment}`);
export const nameKeyOf = (ns: Namespace, name: string) => `${keyPrefixOf(ns)}/${name}`;
export const slotKeyOf = (ns: Namespace, slot: number) => `${keyPrefixOf(ns)}/${slot}`;
/** An environment's document ("default" has one only once renamed). */
export const environmentIdOf = (ns: Namespace) => `${ns.projectId}/${ns.environment}`;
/** The keys of a secret that is not live: its own, so they collide with nothing. */
export const retiredKeyOf = (secretId: string) => `deleted/${secretId}`;
/** The fate of one deletion of a secret: restored or purged, never both. */
export const fateIdOf = (secretId: string, deletedAt: Date) => `${secretId}:${deletedAt.getTime()}`;
/** An Idempotency-Key's record: per environment, the key as sent in "default" (as before environments). */
export function idempotencyIdOf(ns: Namespace, sent: string) {
  // "<slug> <key>" outside "default": a key has no space, so none can collide.
  const key = ns.environment === DEFAULT_ENVIRONMENT ? sent : `${ns.environment} ${sent}`;
  return { _id: `${ns.projectId}/${key}`, key };
}
export { versionIdOf } from '../../db/models/secret-version.ts';
/** A name an environment hides from its parents. */
export const tombstoneIdOf = (ns: Namespace, name: string) => `${ns.projectId}/${ns.environment}/${name}`;
/** One API key's override of a name in an environment (a key id has no "/"). */
export const overrideIdOf = (ns: Namespace, owner: string, name: string) => `${ns.projectId}/${ns.environment}/${owner}/${name}`;

// The audit wrapper of the secret service: a mutation is recorded after the
// change and before the caller hears of it (so no acknowledged change lacks
// its record), a refusal or failure with its kind. Records name the secret,
// never its value.
import { type AuditEntry, type AuditLog, callerEntry } from '../audit/service.ts';
import type { Caller } from '../auth/caller.ts';
import { requireScope } from '../auth/scopes.ts';
import { isDatabaseUnavailable } from '../db/errors.ts';
import { auditOutcomeOf } from '../errors/kinds.ts';
import type { EventLog, EventType } from '../events/log.ts';
import type { PublicSecret } from './model.ts';
import type { SecretLocator } from './store.ts';

/** How an audit record names the secret a call was about. */
export function targetOf(ref: SecretLocator) {
  return 'name' in ref ? { secretName: ref.name } : { secretId: 'id' in ref ? ref.id : ref.idOrName };
}

/** The change event of a committed change, from its audit record. */
export function changeEventOf(
  entry: AuditEntry & { projectId: string; environment: string; secretId: string; secretName: string; version: number },
  kind: ChangeKind,
) {
  const { type, previousName } = typeof kind === 'string' ? { type: kind, previousName: undefined } : kind;
  return {
    projectId: entry.projectId,
    type,
    environment: entry.environment,
    secret: { id: entry.secretId, name: entry.secretName, version: entry.version },
    ...(previousName === undefined ? {} : { previousName }),
    actorKeyId: entry.keyId ?? null,
  };
}

/** What a committed change was, as its event says: its type, and the name it had when it renamed the secret. */
export type ChangeKind = EventType | { readonly type: EventType; readonly previousName: string };

/** The audit record of a call about one secret, naming it as it stands after the call. */
export const secretEntryOf = (base: Omit<AuditEntry, 'outcome'>, secret: PublicSecret, outcome: string) => ({
  ...base,
  projectId: secret.projectId,
  environment: secret.environment,
  secretId: secret.id,
  secretName: secret.name,
  version: secret.version,
  outcome,
});

export function createAuditedCalls(deps: { audit: AuditLog; events?: EventLog | undefined; isReplay: (secret: PublicSecret) => boolean }) {
  /** A refused or failed call, by its kind. It changed nothing; with the database away it cannot be recorded either. */
  async function recordFailure(entry: Omit<AuditEntry, 'outcome'>, err: unknown): Promise<void> {
    if (isDatabaseUnavailable(err)) return;
    await deps.audit.record({ ...entry, outcome: auditOutcomeOf(err) }).catch(() => {});
  }

  /**
   * Runs a mutation (secrets:write) and records how it ended; a committed
   * change also as a change event (of the type `eventType` says, null: it
   * changed nothing), before the caller hears of it.
   */
  async function mutation(
    caller: Caller,
    operation: string,
    ref: SecretLocator,
    change: () => Promise<PublicSecret>,
    eventType: () => ChangeKind | null,
  ): Promise<PublicSecret> {
    const base = callerEntry(caller, operation);
    let secret: PublicSecret;
    try {
      requireScope(caller, 'secrets:write');
      secret = await change();
    } catch (err) {
      await recordFailure({ ...base, ...targetOf(ref) }, err);
      throw err;
    }
    const replayed = deps.isReplay(secret);
    const entry = secretEntryOf(base, secret, replayed ? 'replayed' : 'success');
    const kind = replayed ? null : eventType();
    await Promise.all([deps.audit.record(entry), kind && deps.events ? deps.events.append(changeEventOf(entry, kind)) : undefined]);
    return secret;
  }

  /**
   * Runs a call (secrets:write) that changes no secret's value, recorded as
   * it ended: `extra` says what it was about, `about` what its result adds.
   */
  async function call<T>(
    caller: Caller,
    operation: string,
    extra: Partial<AuditEntry>,
    run: () => Promise<T>,
    about: (result: T) => Partial<AuditEntry> = () => ({}),
  ): Promise<T> {
    const entry = { ...callerEntry(caller, operation), ...extra };
    try {
      requireScope(caller, 'secrets:write');
      const result = await run();
      await deps.audit.record({ ...entry, ...about(result), outcome: 'success' });
      return result;
    } catch (err) {
      await recordFailure(entry, err);
      throw err;
    }
  }

  return { mutation, call, recordFailure };
}

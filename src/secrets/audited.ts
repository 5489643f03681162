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
  type: EventType,
  previousName?: string,
) {
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
    const entry = {
      ...base,
      projectId: secret.projectId,
      environment: secret.environment,
      secretId: secret.id,
      secretName: secret.name,
      version: secret.version,
      outcome: replayed ? 'replayed' : 'success',
    };
    const kind = replayed ? null : eventType();
    const event = kind === null ? null : typeof kind === 'string' ? changeEventOf(entry, kind) : changeEventOf(entry, kind.type, kind.previousName);
    await Promise.all([deps.audit.record(entry), event && deps.events ? deps.events.append(event) : undefined]);
    return secret;
  }

  return { mutation, recordFailure };
}

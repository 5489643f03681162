// Domain failures. The service throws these; each door translates them into
// its own dialect (GraphQL union member, LangWatch body, ...). None carries a value.

export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export class ConflictError extends Error {
  override name = 'ConflictError';
}

export class SecretNotFoundError extends NotFoundError {
  override name = 'SecretNotFoundError';
  constructor() {
    super('Secret not found');
  }
}

export class SecretNameTakenError extends ConflictError {
  override name = 'SecretNameTakenError';
  constructor(readonly secretName: string) {
    super(`A secret with the name "${secretName}" already exists`);
  }
}

/** Compare-and-set lost: the secret's version is not the one the caller expected. */
export class VersionMismatchError extends ConflictError {
  override name = 'VersionMismatchError';
  constructor(
    readonly expected: number,
    readonly current: number,
  ) {
    super(`The secret is at version ${current}, not the expected ${expected}`);
  }
}

/** The project holds as many live secrets as it may. */
export class QuotaExceededError extends Error {
  override name = 'QuotaExceededError';
  constructor(readonly limit: number) {
    super(`This project already has its limit of ${limit} secrets`);
  }
}

/** An Idempotency-Key came back with a different request. */
export class IdempotencyKeyReusedError extends Error {
  override name = 'IdempotencyKeyReusedError';
  constructor() {
    super('This Idempotency-Key was already used with a different request');
  }
}

/** An Idempotency-Key's first request is still being served. */
export class IdempotencyKeyInProgressError extends ConflictError {
  override name = 'IdempotencyKeyInProgressError';
  constructor() {
    super('A request with this Idempotency-Key is still in progress; retry shortly');
  }
}

/**
 * A stored value version that no master key of this node opens (written by a
 * node with another key, or damaged): an error about that one secret.
 */
export class UnreadableValueError extends Error {
  override name = 'UnreadableValueError';
  constructor(
    readonly secretId: string,
    readonly secretName: string,
  ) {
    super(`The value of the secret "${secretName}" cannot be opened with this node's master keys`);
  }
}

/** A field breaks a rule that only the service can check (one that depends on its clock, say). */
export class InvalidFieldError extends Error {
  override name = 'InvalidFieldError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export class EnvironmentNotFoundError extends NotFoundError {
  override name = 'EnvironmentNotFoundError';
  constructor(readonly slug: string) {
    super(`No environment named "${slug}" in this project`);
  }
}

export class EnvironmentTakenError extends ConflictError {
  override name = 'EnvironmentTakenError';
  constructor(readonly slug: string) {
    super(`An environment named "${slug}" already exists`);
  }
}

/** Only an empty environment can be deleted: no live secret, none still restorable. */
export class EnvironmentNotEmptyError extends ConflictError {
  override name = 'EnvironmentNotEmptyError';
  constructor(
    readonly slug: string,
    live: number,
    deleted: number,
  ) {
    super(
      `The environment "${slug}" still holds ${live} secret${live === 1 ? '' : 's'} and ${deleted} deleted one${deleted === 1 ? '' : 's'} still restorable: delete or purge them first`,
    );
  }
}

/** A reference in a value names no secret, or references form a cycle or go too deep: nothing is served. */
export class SecretReferenceError extends ConflictError {
  override name = 'SecretReferenceError';
}

/** Expanding a value's references would pass a bound (its size, or the references one request may follow). */
export class ReferenceBoundError extends SecretReferenceError {
  override name = 'ReferenceBoundError';
}

/** A project holds as many of something (environments, webhooks) as it may: a bound on what one request walks over. */
export class ProjectLimitError extends ConflictError {
  override name = 'ProjectLimitError';
  constructor(
    readonly what: string,
    readonly limit: number,
    variable: string,
  ) {
    super(`This project already has its limit of ${limit} ${what} (${variable}): delete one first`);
  }
}

/**
 * A moment further back than what is kept tells: a version pruned past
 * SECRET_VERSIONS_KEPT, change events past their retention, a secret purged.
 * Never answered with a guess.
 */
export class PastRetentionError extends NotFoundError {
  override name = 'PastRetentionError';
}

export class SnapshotNameTakenError extends ConflictError {
  override name = 'SnapshotNameTakenError';
  constructor(readonly snapshot: string) {
    super(`A snapshot named "${snapshot}" already exists in this environment`);
  }
}

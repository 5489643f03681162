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

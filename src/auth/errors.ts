/** No credentials, or credentials that match no live key. The message never names the key. */
export class UnauthenticatedError extends Error {
  override name = 'UnauthenticatedError';
  constructor(message = 'A valid API key is required (X-Auth-Token or Authorization: Bearer).') {
    super(message);
  }
}

/** The key is valid but may not do this: it lacks the scope the call needs, say. Another project's secret is "not found", never this. */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
  constructor(
    readonly scope: string,
    message = `This API key lacks the ${scope} scope`,
  ) {
    super(message);
  }
}

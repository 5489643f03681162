/** No credentials, or credentials that match no live key. The message never names the key. */
export class UnauthenticatedError extends Error {
  override name = 'UnauthenticatedError';
  constructor(message = 'A valid API key is required (X-Auth-Token or Authorization: Bearer).') {
    super(message);
  }
}

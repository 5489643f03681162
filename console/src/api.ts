// The one way the console talks to the service: POST /graphql on our own
// origin with the signed-in key. A failure carries the server's message only.
import type { TadaDocumentNode } from 'gql.tada';
import { print } from '@0no-co/graphql.web';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
const unauthorized = new Set<Listener>();
/** Called when the server says the key is no longer good (401): the session ends. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorized.add(listener);
  return () => unauthorized.delete(listener);
}

const printed = new WeakMap<object, string>();
export function queryText(document: object & { loc?: { source: { body: string } } }): string {
  let text = printed.get(document);
  if (text === undefined) {
    text = document.loc?.source.body ?? print(document as never);
    printed.set(document, text);
  }
  return text;
}

export async function request<Result, Variables>(key: string, document: TadaDocumentNode<Result, Variables>, variables?: Variables): Promise<Result> {
  let res: Response;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: queryText(document), variables: variables ?? {} }),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError('The service cannot be reached.', 0);
  }
  const body = (await res.json().catch(() => null)) as { data?: Result | null; errors?: { message: string; extensions?: { code?: string } }[] } | null;
  if (res.status === 401) unauthorized.forEach((l) => l());
  const first = body?.errors?.[0];
  if (first) throw new ApiError(first.message, res.status, first.extensions?.code);
  if (!res.ok || !body?.data) throw new ApiError(`The service answered ${res.status}.`, res.status);
  return body.data;
}

/** A typed-error union member: `__typename` ends in "Error" (ValidationError, ConflictError...). */
export type Failure = { __typename: string; message: string; code?: string; fields?: readonly { path: readonly string[]; message: string }[] | null };
export function isFailure(value: { __typename: string }): value is Failure {
  return value.__typename.endsWith('Error');
}

/** The failure member of a result union, as a Failure, or null for a success. */
export function failureOf(value: { __typename: string }): Failure | null {
  return value.__typename.endsWith('Error') ? (value as unknown as Failure) : null;
}

// The limits on hostile documents the README lists (GraphQL Armor's
// defaults): each refused one just past its limit, by its own rule and no
// other, before a resolver or a database command runs; the same document at
// the limit is served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let apiKey: string;

beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey } = await app.createProject('armor'));
  // Warm the key cache so that a refused document costs no lookup either.
  await graphql(app.baseUrl, '{ __typename }', {}, { apiKey });
});
afterAll(() => app.close());

/** `__typename` is on Armor's allow list, so each alias names a real field. */
const aliases = (n: number) => `query { ${Array.from({ length: n }, (_, i) => `a${i}: secrets(first: 1) { edges { cursor } }`).join(' ')} }`;
const directives = (n: number) => `query { ${'__typename @include(if: true) '.repeat(n)}}`;
/**
 * Exactly n tokens: `{`, then `... { __typename }` (4 tokens) and bare
 * `__typename`s, then `}`. Not n bare names: graphql-js's own budget for
 * comparing fields of one name gives up first ("Validation aborted.").
 */
const tokens = (n: number) => {
  const fragments = Math.floor((n - 2) / 4);
  return `{ ${'... { __typename } '.repeat(fragments)}${'__typename '.repeat(n - 2 - 4 * fragments)}}`;
};
/** Depth n counts the fields from the top: `secrets` 1, `edges` 2, `node` 3, `versions` 4, ... */
const depth = (n: number) => {
  const levels = ['secrets', 'edges', 'node', 'versions', 'edges', 'node', 'secret', 'versions', 'edges', 'node'];
  const chosen = levels.slice(0, n - 1);
  return `query { ${chosen.map((f) => `${f} { `).join('')}__typename${' }'.repeat(chosen.length)} }`;
};
/** A page of `first` secrets with five fields each: the cost grows with `first`. */
const cost = (first: number) => `query { secrets(first: ${first}) { edges { node { id name description createdAt updatedAt } } } }`;

describe('GraphQL Armor limits', () => {
  it.each([
    ['aliases', aliases(15), aliases(16), 'Syntax Error: Aliases limit of 15 exceeded, found 16.'],
    ['directives', directives(50), directives(51), 'Syntax Error: Directives limit of 50 exceeded, found 51.'],
    ['tokens', tokens(1000), tokens(1001), 'Syntax Error: Token limit of 1000 exceeded.'],
    ['depth', depth(6), depth(7), 'Syntax Error: Query depth limit of 6 exceeded, found 7.'],
    ['cost', cost(100), cost(400), 'Syntax Error: Query Cost limit of 5000 exceeded, found 10550.'],
  ])('%s: the document at the limit is served, one past it is refused by that rule alone', async (_rule, atLimit, pastLimit, message) => {
    const served = await graphql(app.baseUrl, atLimit, {}, { apiKey });
    expect(served.status).toBe(200);
    expect(served.body.errors).toBeUndefined();
    expect(served.body.data).toBeDefined();

    const before = await app.dbCommands();
    const refused = await graphql(app.baseUrl, pastLimit, {}, { apiKey });
    expect(refused.body.errors?.map((e) => e.message)).toEqual([message]);
    expect(refused.body.data).toBeUndefined();
    expect(await app.dbCommands()).toBe(before);
  });

  it('a query costed with its variables: nested pages multiply, past 10,000 refused before a resolver or a command runs', async () => {
    const nested = 'query($n: Int, $m: Int) { secrets(first: $n) { edges { node { name versions(first: $m) { pageInfo { hasNextPage } } } } } }';
    const served = await graphql(app.baseUrl, nested, { n: 100, m: 5 }, { apiKey });
    expect(served.status).toBe(200);
    expect(served.body.errors).toBeUndefined();

    const before = await app.dbCommands();
    const refused = await graphql(app.baseUrl, nested, { n: 100, m: 100 }, { apiKey });
    expect(refused.body.errors?.map((e) => e.message)).toEqual([
      'This query would cost 20401, more than 10000: ask for smaller pages (first) or fewer nested lists',
    ]);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
    expect(refused.body.data ?? null).toBeNull();
    expect(await app.dbCommands()).toBe(before);
  });
});

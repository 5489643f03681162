// Typed GraphQL documents: `graphql(...)` checks each operation against
// schema.graphql (through the generated graphql-env.d.ts) when the console is
// type-checked, so a field the API does not have fails the build.
import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env.d.ts';

export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; JSON: unknown };
}>();

export type { FragmentOf, ResultOf, VariablesOf } from 'gql.tada';
export { readFragment } from 'gql.tada';

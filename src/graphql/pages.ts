// A page of a service's list as a Relay connection's edges and pageInfo.
// Every list is read forward (`first`, `after`), so no page has one before it.
import { GraphQLError } from 'graphql';
import { PAGE_SIZE_DEFAULT } from '../secrets/rules.ts';

export function pageOf<T>(items: readonly T[], hasNextPage: boolean, cursorOf: (item: T) => string) {
  const edges = items.map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    pageInfo: { hasNextPage, hasPreviousPage: false, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

/** The page size a connection's `first` asks for (validated by the builder's `firstArgOptions`). */
export const pageSize = (first: number | null | undefined) => first ?? PAGE_SIZE_DEFAULT;

export const badCursor = () => new GraphQLError('Invalid cursor: pass an endCursor from an earlier page', { extensions: { code: 'BAD_USER_INPUT' } });

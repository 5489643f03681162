// Loading a query for a screen: its result, its error, and a way to load again.
import type { TadaDocumentNode } from 'gql.tada';
import { useCallback, useEffect, useState } from 'react';
import { ApiError, request } from './api.ts';
import { useSession } from './session.tsx';

export interface Loaded<Result> {
  readonly data: Result | null;
  readonly error: string | null;
  readonly loading: boolean;
  reload(): void;
}

export function useQuery<Result, Variables>(document: TadaDocumentNode<Result, Variables>, variables: Variables, skip = false): Loaded<Result> {
  const { key } = useSession();
  const [state, setState] = useState<{ data: Result | null; error: string | null; loading: boolean }>({ data: null, error: null, loading: !skip });
  const [tick, setTick] = useState(0);
  const text = JSON.stringify(variables);
  useEffect(() => {
    if (skip) return;
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    request(key, document, JSON.parse(text) as Variables).then(
      (data) => current && setState({ data, error: null, loading: false }),
      (err: unknown) => current && setState({ data: null, error: err instanceof ApiError ? err.message : 'The request failed.', loading: false }),
    );
    return () => {
      current = false;
    };
  }, [key, document, text, tick, skip]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** Runs a mutation; a thrown error (transport, GraphQL) becomes its message. */
export function useMutation<Result, Variables>(document: TadaDocumentNode<Result, Variables>) {
  const { key } = useSession();
  const [busy, setBusy] = useState(false);
  const run = useCallback(
    async (variables: Variables): Promise<{ data: Result } | { error: string }> => {
      setBusy(true);
      try {
        return { data: await request(key, document, variables) };
      } catch (err) {
        return { error: err instanceof ApiError ? err.message : 'The request failed.' };
      } finally {
        setBusy(false);
      }
    },
    [key, document],
  );
  return [run, busy] as const;
}

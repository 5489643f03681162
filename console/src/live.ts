// Live changes: the secretEvents subscription over SSE (graphql-sse, as the
// CLI's `run --watch` uses), on our own /graphql, with the key in a header.
import { createClient } from 'graphql-sse';
import { useEffect, useRef } from 'react';
import { queryText } from './api.ts';
import { graphql, type ResultOf } from './graphql.ts';

const SecretEvents = graphql(`
  subscription SecretEvents($environment: String) {
    secretEvents(environment: $environment) {
      id
      type
      at
      environment
      actorKeyId
      secret {
        id
        name
        version
      }
    }
  }
`);
export type SecretEvent = ResultOf<typeof SecretEvents>['secretEvents'];

/** Calls `onEvent` for each change in `environment` while mounted; reconnects on its own. */
export function useSecretEvents(key: string, environment: string, onEvent: (event: SecretEvent) => void): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    const client = createClient({ url: '/graphql', headers: { authorization: `Bearer ${key}` }, retryAttempts: Infinity, credentials: 'omit' });
    const query = queryText(SecretEvents);
    const stop = client.subscribe<ResultOf<typeof SecretEvents>>(
      { query, variables: { environment } },
      {
        next: (message) => {
          if (message.data) handler.current(message.data.secretEvents);
        },
        error: () => {},
        complete: () => {},
      },
    );
    return () => {
      stop();
      client.dispose();
    };
  }, [key, environment]);
}

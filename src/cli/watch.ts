// `run --watch`: follows the project's change events (the secretEvents
// subscription over SSE, with graphql-sse's client) and calls `check` once
// per burst: the first event after a quiet spell starts a 1 s window, and
// whatever else comes in it is the same check. After a broken connection it
// resubscribes from the last event it had (none missed) and checks once, as
// it does once it first connects (a change made between the fetch and the
// subscription is not missed either).
import { createClient } from 'graphql-sse';
import { changesValues } from '../events/types.ts';

const WINDOW_MS = 1_000;
const RECONNECT_MS = 1_000;
const EVENTS = 'subscription($after: String, $environment: String) { secretEvents(after: $after, environment: $environment) { id type } }';

/** `current` is asked at each (re)connection: a key renewed meanwhile (an --oidc sign-in) is the one sent. */
export function watchChanges(current: () => { url: string; apiKey: string; environment?: string | undefined }, check: () => Promise<void>): () => void {
  const settings = current();
  const client = createClient({
    url: `${settings.url.replace(/\/+$/, '')}/graphql`,
    headers: () => {
      const { apiKey, environment } = current();
      return { authorization: `Bearer ${apiKey}`, ...(environment ? { 'x-secrets-environment': environment } : {}) };
    },
    // Reconnects are ours: from the last event id, not from the start.
    retryAttempts: 0,
  });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<void> | undefined;
  let again = false;

  const runCheck = async () => {
    timer = undefined;
    if (checking) {
      again = true;
      return;
    }
    checking = check().catch((err: Error) => void process.stderr.write(`secrets: could not read the values after a change: ${err.message}\n`));
    await checking;
    checking = undefined;
    if (again && !stopped) {
      again = false;
      schedule();
    }
  };
  function schedule() {
    if (!stopped && !timer) timer = setTimeout(() => void runCheck(), WINDOW_MS);
  }

  void (async () => {
    let after: string | undefined;
    let warned = false;
    while (!stopped) {
      try {
        const events = client.iterate<{ secretEvents: { id: string; type: string } }>(
          { query: EVENTS, variables: { ...(after ? { after } : {}), ...(settings.environment ? { environment: settings.environment } : {}) } },
          {
            connected: () => {
              warned = false;
              schedule();
            },
          },
        );
        for await (const result of events) {
          if (stopped) break;
          if (result.errors?.length) throw new Error(result.errors.map((e) => e.message).join('; '));
          const event = result.data?.secretEvents;
          if (!event) continue;
          after = event.id;
          if (changesValues(event.type)) schedule();
        }
      } catch (err) {
        if (!warned && !stopped) process.stderr.write(`secrets: watching for changes failed (${(err as Error).message ?? err}); trying again\n`);
        warned = true;
      }
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  })();

  return () => {
    stopped = true;
    clearTimeout(timer);
    client.dispose();
  };
}

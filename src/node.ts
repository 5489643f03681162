// One node of the service, composed: metrics on the connection, the domain
// services, the HTTP app listening, and the background work a node runs (the
// webhook dispatcher, the sweep). `npm start` and the tests both start nodes
// through here, so what a test runs is what a deployment runs.
import type { RouteOptions } from 'fastify';
import type { Connection } from 'mongoose';
import { type AppDeps, buildApp } from './app.ts';
import type { Logger } from 'pino';
import { createMetrics, watchDatabase } from './metrics.ts';
import { createServices } from './services.ts';

export interface NodeOptions {
  readonly connection: Connection;
  readonly logger: Logger;
  /** What the services are made with, but the connection (keyring, limits, clock, webhook policy, callbacks). */
  readonly services: Omit<Parameters<typeof createServices>[0], 'connection'>;
  /** The HTTP app's settings. */
  readonly http: AppDeps['config'];
  readonly listen: { readonly host: string; readonly port: number };
  /** Send webhooks from this node (a deployment does; tests that count commands do not). */
  readonly dispatch: boolean;
  /**
   * Sweep every intervalMs: mark expired secrets, purge those past their
   * recovery window, forget expired idempotency keys, audit and change events
   * past their retention and old webhook deliveries (FerretDB has no TTL
   * indexes). Several nodes may run it. Absent: no sweep.
   */
  readonly sweep?: {
    readonly intervalMs: number;
    readonly auditRetentionMs: number;
    readonly eventRetentionMs: number;
    readonly onError: (err: Error) => void;
  };
  /** Told of every route as it is registered. */
  readonly onRoute?: (route: RouteOptions) => void;
}

export async function startNode(options: NodeOptions) {
  const metrics = createMetrics();
  watchDatabase(metrics, options.connection);
  const services = await createServices({ ...options.services, connection: options.connection });
  const sweeper = options.sweep && startSweeper(services, options.sweep);
  const app = await buildApp({ ...services, config: options.http, logger: options.logger, metrics, onRoute: options.onRoute });
  await app.listen({ host: options.listen.host, port: options.listen.port });
  if (options.dispatch) services.dispatcher.start();
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.listen.port;
  const host = options.listen.host;
  return {
    app,
    services,
    metrics,
    /** Where it answers, e.g. http://127.0.0.1:3000. */
    baseUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    /** Stops the background work and the app (in-flight requests finish); the connection stays the caller's. */
    async close() {
      clearInterval(sweeper);
      await services.dispatcher.stop();
      await app.close();
    },
  };
}

export type ServiceNode = Awaited<ReturnType<typeof startNode>>;

function startSweeper(services: Awaited<ReturnType<typeof createServices>>, sweep: NonNullable<NodeOptions['sweep']>) {
  // A sweep slower than the interval is not started again over itself.
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    void Promise.all([
      services.secrets.sweep().catch(sweep.onError),
      services.audit.sweep(sweep.auditRetentionMs).catch(sweep.onError),
      services.events.sweep(sweep.eventRetentionMs).catch(sweep.onError),
      services.dispatcher.sweep(sweep.eventRetentionMs).catch(sweep.onError),
      services.keys.sweep().catch(sweep.onError),
    ]).finally(() => {
      sweeping = false;
    });
  }, sweep.intervalMs);
  timer.unref();
  return timer;
}

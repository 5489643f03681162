// Prometheus metrics (prom-client): HTTP requests by route and status, their
// latency, database commands by name (from the driver's command monitoring),
// and whether the database answers. They carry no secret, name or key.
import type { FastifyInstance } from 'fastify';
import type { Connection } from 'mongoose';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests served, by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to serve an HTTP request, by method and route',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    dbCommands: new Counter({
      name: 'db_commands_total',
      help: 'Database commands sent, by command name and collection',
      labelNames: ['command', 'collection'] as const,
      registers: [registry],
    }),
    eventLoopDelay: new Gauge({
      name: 'event_loop_delay_seconds',
      help: "The event loop's mean delay over the last sample (perf_hooks.monitorEventLoopDelay): past OVERLOAD_EVENT_LOOP_DELAY_MS, requests are shed",
      registers: [registry],
    }),
    shed: new Counter({
      name: 'http_requests_shed_total',
      help: 'Requests answered 503 with Retry-After because the event loop lagged',
      registers: [registry],
    }),
    dbUp: new Gauge({
      name: 'db_up',
      help: '1 while the database answers its heartbeats, 0 otherwise',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Counts the connection's commands and follows its heartbeats. Needs `monitorCommands: true`. */
export function watchDatabase(metrics: Metrics, connection: Connection): void {
  const client = connection.getClient();
  metrics.dbUp.set(connection.readyState === 1 ? 1 : 0);
  client.on('commandStarted', (event) => {
    // A command names its collection under its own name (`{find: 'secrets', …}`); getMore and the rest name none.
    const target: unknown = event.command[event.commandName];
    metrics.dbCommands.inc({ command: event.commandName, collection: typeof target === 'string' ? target : '' });
  });
  client.on('serverHeartbeatSucceeded', () => metrics.dbUp.set(1));
  client.on('serverHeartbeatFailed', () => metrics.dbUp.set(0));
  connection.on('disconnected', () => metrics.dbUp.set(0));
  connection.on('connected', () => metrics.dbUp.set(1));
}

/** A route's pressureHandler that serves the request as usual (health and metrics). */
export const ANSWER_UNDER_PRESSURE = () => undefined;

/**
 * Times every request of the app (call on the root instance, before the
 * routes) and serves GET /metrics, without credentials: it holds nothing secret.
 */
export function instrumentRequests(app: FastifyInstance, metrics: Metrics, eventLoopDelayMs: () => number): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  // Answered while the node sheds load: that is when it is looked at.
  app.get('/metrics', { schema: { hide: true }, config: { rateLimit: false, pressureHandler: ANSWER_UNDER_PRESSURE } }, async (_request, reply) => {
    metrics.eventLoopDelay.set(eventLoopDelayMs() / 1000);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

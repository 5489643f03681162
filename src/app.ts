// buildApp(deps): the HTTP host with GraphQL, the REST doors and /healthz.
// It never listens: main.ts does, and tests start the very same app.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyReply, type RouteOptions } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { AuditLog } from './audit/service.ts';
import type { Authenticator } from './auth/authenticator.ts';
import { consoleRoutes } from './console/route.ts';
import { graphqlRoute } from './graphql/yoga.ts';
import type { EventHub } from './events/hub.ts';
import type { WebhookService } from './webhooks/service.ts';
import type { KeyService } from './keys/service.ts';
import type { ProjectService } from './projects/service.ts';
import { adminRoutes } from './rest/admin.ts';
import { z } from 'zod';
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import { createAuthRefusals } from './auth/refusals.ts';
import { ANSWER_UNDER_PRESSURE, instrumentRequests, type Metrics } from './metrics.ts';
import { OverloadedError, RateLimitedError, ShuttingDownError } from './errors/request.ts';
import { dialectConstraint } from './rest/dialect.ts';
import { DOORS } from './rest/doors.ts';
import { openApiRoutes, registerCombinedOpenApi } from './rest/openapi.ts';
import { authRoutes } from './rest/auth.ts';
import { serializerCompiler } from './rest/serializer.ts';
import { langwatchErrorHandler } from './rest/langwatch.ts';
import type { SecretPreset } from './secrets/presets.ts';
import type { EnvironmentService } from './environments/service.ts';
import type { SecretService } from './secrets/service.ts';
import type { IdentityService } from './identities/service.ts';

/** What a shed request is told to wait: a few samples of the event loop. */
const OVERLOAD_RETRY_AFTER_SECONDS = 5;

export interface AppDeps {
  readonly config: {
    readonly bodyLimit: number;
    readonly adminToken: string | undefined;
    /** Requests per API key (or address, without one) per minute; 0: no limit. */
    readonly rateLimitPerMinute: number;
    /** The v1 door's provider presets. */
    readonly secretPresets: readonly SecretPreset[];
    /** Refused authentications per client address per minute before 429; 0: no limit. */
    readonly authFailureLimitPerMinute: number;
    /** Past this mean event-loop delay, requests are shed with 503 and Retry-After (0: never); sampled every sampleIntervalMs (default 1 s). */
    readonly overload?: { readonly maxEventLoopDelayMs: number; readonly sampleIntervalMs?: number };
  };
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly authenticator: Authenticator;
  readonly audit: AuditLog;
  readonly secrets: SecretService;
  readonly environments: EnvironmentService;
  readonly projects: ProjectService;
  readonly keys: KeyService;
  /** Live change events on this node. */
  readonly hub: EventHub;
  readonly webhooks: WebhookService;
  /** Workload identities: logins with a platform's token. */
  readonly identities: IdentityService;
  /** Resolves when the database answers; rejects otherwise. */
  readonly pingDatabase: () => Promise<void>;
  /** Told of every route as it is registered (tests use it to check the OpenAPI documents). */
  readonly onRoute?: (route: RouteOptions) => void;
}

export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.config.bodyLimit,
    // Together names may be up to 100 characters, URL-encoded three times longer.
    routerOptions: { maxParamLength: 1024 },
    genReqId: () => randomUUID(),
    // Fastify's own 503 while closing skips the hooks (no x-request-id, no
    // no-store) and is no door's body: the onRequest hook below answers it.
    return503OnClosing: false,
    // Fastify answers these before any hook runs (so without our onSend headers),
    // in words that quote the URL: a URL it cannot decode, a path parameter past
    // maxParamLength; and bytes Node cannot parse as HTTP at all.
    frameworkErrors: (err, request, reply) => {
      return (reply as FastifyReply)
        .headers({ 'x-request-id': request.id, 'cache-control': 'no-store' })
        .status(err.statusCode ?? 400)
        .send({ error: 'bad_request', message: 'The request URL could not be read.' });
    },
    clientErrorHandler(err: NodeJS.ErrnoException, socket) {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const [status, reason] =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large']
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? [408, 'Request Timeout']
            : [400, 'Bad Request'];
      const body = JSON.stringify({ error: 'bad_request', message: 'The request could not be read.' });
      const id = randomUUID();
      deps.logger.trace({ reqId: id, err: { type: err.name, code: err.code } }, 'client error');
      if (socket.writable) {
        socket.write(
          `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
            `Cache-Control: no-store\r\nx-request-id: ${id}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy(err);
    },
  });
  if (deps.onRoute) app.addHook('onRoute', deps.onRoute);
  app.addConstraintStrategy(dialectConstraint);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(langwatchErrorHandler);
  await registerCombinedOpenApi(app, DOORS);
  // A node whose event loop lags sheds requests (503, Retry-After, in the
  // door's body) rather than queueing them without end; /healthz and /metrics
  // still answer.
  await app.register(underPressure, {
    maxEventLoopDelay: deps.config.overload?.maxEventLoopDelayMs ?? 0,
    sampleInterval: deps.config.overload?.sampleIntervalMs,
    pressureHandler: async () => {
      deps.metrics.shed.inc();
      throw new OverloadedError(OVERLOAD_RETRY_AFTER_SECONDS);
    },
  });
  instrumentRequests(app, deps.metrics, () => app.memoryUsage().eventLoopDelay);
  if (!app.hasRequestDecorator('caller')) app.decorateRequest('caller', null);
  await app.register(rateLimit, {
    global: deps.config.rateLimitPerMinute > 0,
    max: deps.config.rateLimitPerMinute,
    timeWindow: 60_000,
    // After the door's authentication (an onRequest hook), before the body is
    // read: per authenticated key, else per address. A key that does not
    // authenticate never gets here (its refusal is limited apart, below), so
    // random keys cannot push a real key's bucket out of the table.
    hook: 'preParsing',
    keyGenerator: (request) => (request.caller ? `key:${request.caller.keyId}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) => new RateLimitedError(Math.ceil(context.ttl / 1000)),
  });
  const refusals = createAuthRefusals(app, deps.config.authFailureLimitPerMinute);
  const doorDeps = { ...deps, refusals };
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'not_found', message: `No route for ${request.method} ${request.url.split('?')[0]}` }),
  );

  // While closing, every response tells its client to hang up (a keep-alive
  // connection would otherwise hold the drain open for its whole timeout), and
  // a request that arrives meanwhile on a connection still open gets a 503 in
  // its door's body, from the route's own error handler.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw new ShuttingDownError();
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
    // Responses of a secrets service are never worth caching anywhere.
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  app.get(
    '/healthz',
    {
      config: { rateLimit: false, pressureHandler: ANSWER_UNDER_PRESSURE },
      schema: {
        tags: ['Operations'],
        summary: 'Health: 200 once the database answers, 503 otherwise',
        security: [],
        response: {
          200: z.object({ status: z.literal('ok') }),
          503: z.object({ status: z.literal('unavailable'), message: z.string() }),
        },
      },
    },
    async (_request, reply) => {
      try {
        await deps.pingDatabase();
        return { status: 'ok' };
      } catch {
        return reply.status(503).send({ status: 'unavailable', message: 'The database is not reachable.' });
      }
    },
  );

  await app.register(graphqlRoute(doorDeps));
  await app.register(consoleRoutes());
  // Open subscriptions end with the server; their followers stop polling.
  app.addHook('onClose', async () => deps.hub.close());
  const restDeps = { ...doorDeps, presets: deps.config.secretPresets };
  const doors = DOORS.map((door) => ({ ...door, register: door.register(restDeps) }));
  for (const door of doors) await app.register(door.register);
  await app.register(authRoutes({ identities: deps.identities, audit: deps.audit, refusals }));
  await app.register(adminRoutes({ adminToken: deps.config.adminToken, projects: deps.projects, audit: deps.audit, refusals }));
  await app.register(openApiRoutes(doors));
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;

// buildApp(deps): the HTTP host with GraphQL, the REST doors and /healthz.
// It never listens: main.ts does, and tests start the very same app.
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Authenticator } from './auth/authenticator.ts';
import { graphqlRoute } from './graphql/yoga.ts';
import type { ProjectService } from './projects/service.ts';
import { adminRoutes } from './rest/admin.ts';
import { langwatchDoor, langwatchErrorHandler } from './rest/langwatch.ts';
import type { SecretService } from './secrets/service.ts';

export interface AppDeps {
  readonly config: { readonly bodyLimit: number; readonly adminToken: string | undefined };
  readonly logger: Logger;
  readonly authenticator: Authenticator;
  readonly secrets: SecretService;
  readonly projects: ProjectService;
  /** Resolves when the database answers; rejects otherwise. */
  readonly pingDatabase: () => Promise<void>;
}

export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.config.bodyLimit,
    // Together names may be up to 100 characters, URL-encoded three times longer.
    routerOptions: { maxParamLength: 1024 },
    genReqId: () => randomUUID(),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(langwatchErrorHandler);
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'not_found', message: `No route for ${request.method} ${request.url.split('?')[0]}` }),
  );

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // Responses of a secrets service are never worth caching anywhere.
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  app.get('/healthz', async (_request, reply) => {
    try {
      await deps.pingDatabase();
      return { status: 'ok' };
    } catch {
      return reply.status(503).send({ status: 'unavailable', message: 'The database is not reachable.' });
    }
  });

  await app.register(graphqlRoute(deps));
  await app.register(langwatchDoor(deps));
  await app.register(adminRoutes({ adminToken: deps.config.adminToken, projects: deps.projects }));
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;

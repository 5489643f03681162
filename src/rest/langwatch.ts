// REST door 1: LangWatch's /api/secrets, with its paths, bodies, statuses and
// error strings, so that its callers only change their base URL.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Authenticator } from '../auth/authenticator.ts';
import { createSecretInputSchema, updateSecretInputSchema } from '../secrets/rules.ts';
import type { PublicSecret, SecretService } from '../secrets/service.ts';
import { acceptJsonOfAnyType, actorOf, doorErrorHandler, requireApiKey } from './common.ts';

export const langwatchSecretSchema = z.object({
  id: z.string(),
  projectId: z.string(),
  name: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const langwatchErrorSchema = z.object({
  error: z.string(),
  message: z.string().optional(),
  fields: z.array(z.object({ path: z.array(z.string()), message: z.string() })).optional(),
});

function toLangWatch(secret: PublicSecret): z.infer<typeof langwatchSecretSchema> {
  return {
    id: secret.id,
    projectId: secret.projectId,
    name: secret.name,
    createdAt: secret.createdAt.toISOString(),
    updatedAt: secret.updatedAt.toISOString(),
  };
}

/** The error body LangWatch callers know, for every way a request can fail. */
export const langwatchErrorHandler = doorErrorHandler((failure) => {
  switch (failure.kind) {
    case 'validation':
      return {
        body: {
          error: 'validation_error',
          message: failure.message,
          fields: failure.issues.map(({ path, message }) => ({ path, message })),
        },
      };
    case 'malformed':
      return { body: { error: 'malformed_request', message: failure.message } };
    case 'too_large':
      return { body: { error: 'payload_too_large', message: failure.message } };
    case 'unauthenticated':
      return { body: { error: 'Unauthorized', message: failure.message } };
    case 'not_found':
    case 'conflict':
      return { body: { error: failure.message } };
    case 'bad_request':
      return { body: { error: 'bad_request', message: failure.message } };
    case 'internal':
      return { body: { error: 'internal_error', message: failure.message } };
  }
});

const idParams = z.object({ id: z.string() });

export function langwatchDoor(deps: { authenticator: Authenticator; secrets: SecretService }) {
  return async function register(parent: FastifyInstance) {
    const app = parent.withTypeProvider<ZodTypeProvider>();
    acceptJsonOfAnyType(app);
    requireApiKey(app, deps.authenticator);
    app.setErrorHandler(langwatchErrorHandler);
    const errors = { 400: langwatchErrorSchema, 401: langwatchErrorSchema, 404: langwatchErrorSchema, 409: langwatchErrorSchema, 413: langwatchErrorSchema, 422: langwatchErrorSchema };

    app.post('/api/secrets', {
      schema: { body: createSecretInputSchema, response: { 201: langwatchSecretSchema, ...errors } },
    }, async (request, reply) => {
      const secret = await deps.secrets.create(actorOf(request), request.body);
      return reply.status(201).send(toLangWatch(secret));
    });

    app.get('/api/secrets', {
      schema: { response: { 200: z.array(langwatchSecretSchema), ...errors } },
    }, async (request) => (await deps.secrets.listAll(actorOf(request))).map(toLangWatch));

    app.get('/api/secrets/:id', {
      schema: { params: idParams, response: { 200: langwatchSecretSchema, ...errors } },
    }, async (request) => toLangWatch(await deps.secrets.get(actorOf(request), { id: request.params.id })));

    app.put('/api/secrets/:id', {
      schema: { params: idParams, body: updateSecretInputSchema, response: { 200: langwatchSecretSchema, ...errors } },
    }, async (request) => toLangWatch(await deps.secrets.update(actorOf(request), { id: request.params.id }, request.body)));

    app.delete('/api/secrets/:id', {
      schema: {
        params: idParams,
        response: { 200: z.object({ id: z.string(), deleted: z.literal(true) }), ...errors },
      },
    }, async (request) => {
      const { id } = await deps.secrets.delete(actorOf(request), { id: request.params.id });
      return { id, deleted: true as const };
    });
  };
}

// REST door 1: LangWatch's /api/secrets, with its paths, bodies, statuses and
// error strings, so that its callers only change their base URL.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { actingEnvironment } from '../auth/caller.ts';
import { createSecretInputSchema, updateSecretInputSchema } from '../secrets/rules.ts';
import type { PublicSecret } from '../secrets/service.ts';
import {
  callerOf,
  doorErrorHandler,
  errorResponses,
  setUpDoor,
  etagOf,
  expectedVersionOf,
  idempotencyKeyHeader,
  ifMatchHeader,
  type RestDoor,
  type RestDoorDeps,
} from './common.ts';

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
    case 'forbidden':
      return { body: { error: 'Forbidden', message: failure.message } };
    case 'not_found':
    case 'conflict':
      return { body: { error: failure.message } };
    case 'bad_request':
      return { body: { error: 'bad_request', message: failure.message } };
    case 'precondition':
      return { body: { error: 'precondition_failed', message: failure.message } };
    case 'idempotency_mismatch':
      return { body: { error: 'idempotency_key_reused', message: failure.message } };
    case 'rate_limited':
      return { body: { error: 'rate_limited', message: failure.message } };
    case 'unavailable':
      return { body: { error: 'service_unavailable', message: failure.message } };
    case 'unreadable':
      return { body: { error: 'value_unreadable', message: failure.message } };
    case 'internal':
      return { body: { error: 'internal_error', message: failure.message } };
  }
});

const idParams = z.object({ id: z.string() });

export const versionSchema = z.object({ version: z.number().int(), createdAt: z.string(), createdBy: z.string() });

function langwatchRoutes(deps: RestDoorDeps): FastifyPluginAsync {
  return async function register(parent: FastifyInstance) {
    const app = setUpDoor(parent, deps, langwatchDoor, langwatchErrorHandler);
    const errors = errorResponses(langwatchErrorSchema, [400, 401, 403, 404, 409, 412, 413, 422, 429, 503]);
    const tags = ['LangWatch'];

    app.post(
      '/api/secrets',
      {
        schema: {
          tags,
          summary: 'Create a project secret; the value is encrypted at rest and never returned',
          headers: z.looseObject({ 'idempotency-key': idempotencyKeyHeader }),
          body: createSecretInputSchema,
          response: { 201: langwatchSecretSchema, ...errors },
        },
      },
      async (request, reply) => {
        const secret = await deps.secrets.create(callerOf(request), request.body, { idempotencyKey: request.headers['idempotency-key'] });
        return reply.status(201).header('etag', etagOf(secret)).send(toLangWatch(secret));
      },
    );

    app.get(
      '/api/secrets',
      {
        schema: { tags, summary: 'List secrets, sorted by name', response: { 200: z.array(langwatchSecretSchema), ...errors } },
      },
      async (request) => (await deps.secrets.listAll(callerOf(request))).map(toLangWatch),
    );

    app.get(
      '/api/secrets/:id',
      {
        schema: { tags, summary: 'Get a secret', params: idParams, response: { 200: langwatchSecretSchema, ...errors } },
      },
      async (request, reply) => {
        const secret = await deps.secrets.get(callerOf(request), { id: request.params.id });
        return reply.header('etag', etagOf(secret)).send(toLangWatch(secret));
      },
    );

    app.put(
      '/api/secrets/:id',
      {
        schema: {
          tags,
          summary: "Update a secret's value",
          params: idParams,
          headers: z.looseObject({ 'if-match': ifMatchHeader }),
          body: updateSecretInputSchema,
          response: { 200: langwatchSecretSchema, ...errors },
        },
      },
      async (request, reply) => {
        const secret = await deps.secrets.update(callerOf(request), { id: request.params.id }, request.body, {
          expectedVersion: expectedVersionOf(request),
        });
        return reply.header('etag', etagOf(secret)).send(toLangWatch(secret));
      },
    );

    app.delete(
      '/api/secrets/:id',
      {
        schema: {
          tags,
          summary: 'Delete a secret (restorable during the recovery window)',
          params: idParams,
          response: { 200: z.object({ id: z.string(), deleted: z.literal(true) }), ...errors },
        },
      },
      async (request) => {
        const { id } = await deps.secrets.delete(callerOf(request), { id: request.params.id });
        return { id, deleted: true as const };
      },
    );

    app.get(
      '/api/secrets/:id/versions',
      {
        schema: {
          tags,
          summary: "A secret's value versions, newest first: numbers, times and authors, never values",
          params: idParams,
          querystring: z.object({ before: z.coerce.number().int().min(1).optional() }),
          response: { 200: z.array(versionSchema), ...errors },
        },
      },
      async (request) => {
        const { versions } = await deps.secrets.versions(callerOf(request), { id: request.params.id }, { first: 100, before: request.query.before });
        return versions.map((v) => ({ version: v.version, createdAt: v.createdAt.toISOString(), createdBy: v.createdBy }));
      },
    );

    app.get(
      '/api/secrets/:id/value',
      {
        schema: {
          tags,
          summary: "Reveal a secret's value (needs secrets:reveal; audited; never cached)",
          params: idParams,
          querystring: z.object({ version: z.coerce.number().int().min(1).optional() }),
          response: { 200: z.object({ id: z.string(), name: z.string(), version: z.number().int(), value: z.string() }), ...errors },
        },
      },
      async (request, reply) => {
        const { secret, version, value } = await deps.secrets.reveal(callerOf(request), { id: request.params.id }, request.query.version);
        return reply.header('cache-control', 'no-store').send({ id: secret.id, name: secret.name, version, value });
      },
    );

    app.get(
      '/api/secrets/values',
      {
        schema: {
          tags,
          summary: 'Reveal every current value of the project, by name (needs secrets:reveal; audited; never cached)',
          querystring: z.object({
            resolve: z.enum(['true', 'false']).default('true').describe('false: the values as stored, references (${NAME}) not expanded'),
            at: z.iso
              .datetime({ offset: true })
              .optional()
              .describe(
                "The environment's own values as they were at this moment (ISO-8601), references expanded in that moment; 404 when it is past what is kept",
              ),
          }),
          response: {
            200: z.object({
              values: z.record(z.string(), z.string()),
              sources: z
                .record(z.string(), z.object({ source: z.enum(['own', 'inherited', 'override']), environment: z.string() }))
                .describe("Where each value comes from: the environment's own secret, one inherited (from `environment`), or the caller's personal override"),
              unreadable: z.array(z.string()).optional().describe("Names of secrets whose value this node's master keys cannot open (left out of values)"),
            }),
            ...errors,
          },
        },
      },
      async (request, reply) => {
        const resolve = request.query.resolve === 'true';
        if (request.query.at !== undefined) {
          const caller = callerOf(request);
          const values = await deps.secrets.valuesAt(caller, new Date(request.query.at), { resolve });
          const own = { source: 'own' as const, environment: actingEnvironment(caller) };
          return reply.header('cache-control', 'no-store').send({ values, sources: Object.fromEntries(Object.keys(values).map((name) => [name, own])) });
        }
        const { values, sources, unreadable } = await deps.secrets.revealAll(callerOf(request), { resolve });
        const origins = Object.fromEntries(Object.entries(sources).map(([name, s]) => [name, { source: s.kind, environment: s.environment }]));
        return reply.header('cache-control', 'no-store').send({ values, sources: origins, ...(unreadable.length ? { unreadable } : {}) });
      },
    );

    app.post(
      '/api/secrets/:id/restore',
      {
        schema: {
          tags,
          summary: 'Restore a deleted secret during its recovery window (409 if its name was taken meanwhile)',
          params: idParams,
          response: { 200: langwatchSecretSchema, ...errors },
        },
      },
      async (request, reply) => {
        const secret = await deps.secrets.restore(callerOf(request), request.params.id);
        return reply.header('etag', etagOf(secret)).send(toLangWatch(secret));
      },
    );
  };
}

export const langwatchDoor = {
  slug: 'langwatch',
  title: 'LangWatch-compatible secrets API',
  description: 'The paths, bodies, statuses and error bodies of LangWatch /api/secrets.',
  security: ['xAuthToken', 'bearer'],
  credentials: {},
  register: langwatchRoutes,
} as const satisfies RestDoor;

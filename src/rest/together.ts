// REST door 2: Together's /v1/deployments/secrets, by id or name, so that the
// official together-ai SDK works against us given our /v1 as its base URL.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { descriptionSchema, secretValueSchema, togetherNameSchema, ttlSecondsSchema } from '../secrets/rules.ts';
import type { RequestFailure } from '../errors/kinds.ts';
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

export const togetherSecretSchema = z.object({
  object: z.literal('secret'),
  id: z.string(),
  name: z.string(),
  description: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  created_by: z.string(),
  last_updated_by: z.string(),
  expires_at: z.string().optional().describe('When the secret expires and is deleted; omitted for secrets that never expire'),
  ttl_seconds: z.number().int().optional().describe("The secret's lifetime in seconds; omitted when no TTL is set"),
});

/** Together's public error shape (OpenAI-style). */
export const togetherErrorSchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});

const createBody = z.object({
  name: togetherNameSchema,
  value: secretValueSchema,
  description: descriptionSchema.optional(),
  project_id: z.string().optional().describe('Ignored: the project comes from the API key.'),
  ttl_seconds: ttlSecondsSchema.optional().describe('How long the secret lives before it is deleted, 86400 (1 day) to 1209600 (14 days)'),
});

const updateBody = z.object({
  name: togetherNameSchema.optional(),
  value: secretValueSchema.optional(),
  description: descriptionSchema.optional(),
  project_id: z.string().optional().describe('Ignored: the project comes from the API key.'),
  ttl_seconds: ttlSecondsSchema.optional().describe('A new lifetime, restarting the expiry from now, 86400 to 1209600'),
});

/** Together's TTL as the service's expiry: absent leaves it as it is. */
const ttlOf = (ttl: number | undefined) => (ttl === undefined ? undefined : { ttlSeconds: ttl });

const idParams = z.object({ id: z.string().describe('Secret ID or name') });

function toTogether(secret: PublicSecret): z.infer<typeof togetherSecretSchema> {
  return {
    object: 'secret',
    id: secret.id,
    name: secret.name,
    description: secret.description ?? '',
    created_at: secret.createdAt.toISOString(),
    updated_at: secret.updatedAt.toISOString(),
    created_by: secret.createdBy,
    last_updated_by: secret.lastUpdatedBy,
    ...(secret.expiresAt ? { expires_at: secret.expiresAt.toISOString() } : {}),
    ...(secret.ttlSeconds ? { ttl_seconds: secret.ttlSeconds } : {}),
  };
}

const TYPES: Record<RequestFailure['kind'], string> = {
  validation: 'invalid_request_error',
  malformed: 'invalid_request_error',
  bad_request: 'invalid_request_error',
  too_large: 'invalid_request_error',
  unauthenticated: 'authentication_error',
  forbidden: 'permission_error',
  not_found: 'not_found_error',
  conflict: 'conflict_error',
  precondition: 'precondition_failed',
  rate_limited: 'rate_limit_error',
  unavailable: 'service_unavailable',
  idempotency_mismatch: 'invalid_request_error',
  unreadable: 'server_error',
  internal: 'server_error',
};

const togetherErrorHandler = doorErrorHandler((failure) => {
  const firstIssue = failure.kind === 'validation' ? failure.issues[0] : undefined;
  const error = {
    message: failure.message,
    type: TYPES[failure.kind],
    param: firstIssue?.path.join('.') || null,
    code: null,
  };
  // Together answers invalid requests with 400, not 422.
  const status = failure.kind === 'validation' || failure.kind === 'idempotency_mismatch' ? 400 : failure.status;
  // The official SDK retries 409s unless told not to: a taken name stays taken.
  const headers: Record<string, string> = failure.kind === 'conflict' ? { 'x-should-retry': 'false' } : {};
  return { status, body: { error }, headers };
});

function togetherRoutes(deps: RestDoorDeps): FastifyPluginAsync {
  return async function register(parent: FastifyInstance) {
    const app = setUpDoor(parent, deps, togetherDoor, togetherErrorHandler);
    const errors = errorResponses(togetherErrorSchema, [400, 401, 403, 404, 409, 412, 413, 429, 503]);
    const base = '/v1/deployments/secrets';
    const tags = ['Together'];

    app.post(
      base,
      {
        schema: {
          tags,
          summary: 'Create a secret',
          headers: z.looseObject({ 'idempotency-key': idempotencyKeyHeader }),
          body: createBody,
          response: { 200: togetherSecretSchema, ...errors },
        },
      },
      async (request, reply) => {
        const { name, value, description, ttl_seconds: ttl } = request.body;
        const secret = await deps.secrets.create(
          callerOf(request),
          { name, value, description, expiry: ttlOf(ttl) },
          {
            idempotencyKey: request.headers['idempotency-key'],
          },
        );
        return reply.header('etag', etagOf(secret)).send(toTogether(secret));
      },
    );

    app.get(
      base,
      {
        schema: {
          tags,
          summary: 'List secrets',
          response: { 200: z.object({ object: z.literal('list'), data: z.array(togetherSecretSchema) }), ...errors },
        },
      },
      async (request) => ({
        object: 'list' as const,
        data: (await deps.secrets.listAll(callerOf(request))).map(toTogether),
      }),
    );

    app.get(
      `${base}/:id`,
      {
        schema: { tags, summary: 'Retrieve a secret by id or name', params: idParams, response: { 200: togetherSecretSchema, ...errors } },
      },
      async (request, reply) => {
        const secret = await deps.secrets.get(callerOf(request), { idOrName: request.params.id });
        return reply.header('etag', etagOf(secret)).send(toTogether(secret));
      },
    );

    app.patch(
      `${base}/:id`,
      {
        schema: {
          tags,
          summary: "Update a secret's value, name or description, by id or name",
          params: idParams,
          headers: z.looseObject({ 'if-match': ifMatchHeader }),
          body: updateBody,
          response: { 200: togetherSecretSchema, ...errors },
        },
      },
      async (request, reply) => {
        const { name, value, description, ttl_seconds: ttl } = request.body;
        const secret = await deps.secrets.update(
          callerOf(request),
          { idOrName: request.params.id },
          { name, value, description, expiry: ttlOf(ttl) },
          {
            expectedVersion: expectedVersionOf(request),
          },
        );
        return reply.header('etag', etagOf(secret)).send(toTogether(secret));
      },
    );

    app.delete(
      `${base}/:id`,
      {
        schema: {
          tags,
          summary: 'Delete a secret by id or name',
          params: idParams,
          response: { 200: z.object({ id: z.string(), object: z.literal('secret'), deleted: z.literal(true) }), ...errors },
        },
      },
      async (request) => {
        const { id } = await deps.secrets.delete(callerOf(request), { idOrName: request.params.id });
        return { id, object: 'secret' as const, deleted: true as const };
      },
    );
  };
}

export const togetherDoor = {
  slug: 'together',
  title: 'Together-compatible secrets API',
  description: "Together /v1/deployments/secrets, by id or name; works with the together-ai SDK given this service's /v1 as base URL.",
  security: ['bearer'],
  credentials: {},
  register: togetherRoutes,
} as const satisfies RestDoor;

// REST door 3: Dreadnode's v1 user-secrets API under /api/v1/user/secrets, as
// its Python SDK (dreadnode.app.api.client.ApiClient) calls it: X-API-Key,
// masked previews, provider presets, and the canonical error envelope
// {code, detail, type} (the SDK reads `detail`; 401, 404 and 409 become its
// AuthenticationError, NotFoundError and ConflictError).
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { providerSchema, secretNameSchema, secretValueSchema } from '../secrets/rules.ts';
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

export const userSecretSchema = z.object({
  id: z.string(),
  name: z.string().describe('Environment variable name'),
  provider: z.string().nullable(),
  masked_value: z.string().describe("Masked secret value for display (e.g., 'sk-pro••••789')"),
  created_at: z.string(),
  updated_at: z.string(),
});

/** The canonical API error envelope. */
export const canonicalErrorSchema = z.object({
  code: z.number().int().describe('HTTP status code'),
  detail: z.string().describe('Human-readable error message'),
  type: z.string().describe('Stable machine-readable error type'),
  errors: z
    .array(
      z.object({
        loc: z.array(z.union([z.string(), z.number()])).describe('Where the validation error occurred'),
        msg: z.string().describe('Human-readable validation message'),
        type: z.string().describe('Machine-readable validation error type'),
      }),
    )
    .optional(),
});

const createBody = z.object({ name: secretNameSchema, value: secretValueSchema, provider: providerSchema.nullish() });
const updateBody = z.object({ value: secretValueSchema.describe('The new secret value (will be encrypted at rest)') });
const idParams = z.object({ id: z.string() });

const TYPES: Record<RequestFailure['kind'], string> = {
  validation: 'validation_error',
  malformed: 'invalid_request_error',
  bad_request: 'invalid_request_error',
  too_large: 'payload_too_large_error',
  unauthenticated: 'authentication_error',
  forbidden: 'permission_error',
  not_found: 'not_found_error',
  conflict: 'conflict_error',
  precondition: 'precondition_failed_error',
  rate_limited: 'rate_limit_error',
  unavailable: 'service_unavailable_error',
  idempotency_mismatch: 'idempotency_key_reused',
  unreadable: 'value_unreadable_error',
  internal: 'internal_error',
};

const DETAILS: Partial<Record<RequestFailure['kind'], string>> = {
  unauthenticated: 'Authentication failed',
  not_found: 'Secret not found',
};

const canonicalErrorHandler = doorErrorHandler((failure) => ({
  body: {
    code: failure.status,
    detail: DETAILS[failure.kind] ?? failure.message,
    type: TYPES[failure.kind],
    ...(failure.kind === 'validation'
      ? { errors: failure.issues.map((issue) => ({ loc: [issue.location, ...issue.path], msg: issue.message, type: issue.code })) }
      : {}),
  },
}));

const presetSchema = z.object({
  provider: z.string(),
  env_var_name: z.string().describe('The name of the secret the preset creates'),
  configured: z.boolean().describe('Whether a secret of that name exists'),
});

function userSecretsV1Routes(deps: RestDoorDeps): FastifyPluginAsync {
  const providers = deps.presets.map((p) => p.provider) as [string, ...string[]];
  const presetBody = z.object({
    provider: z.enum(providers, { message: `Unknown provider: one of ${providers.join(', ')}` }),
    value: secretValueSchema,
  });

  async function toUserSecrets(secrets: PublicSecret[]): Promise<z.infer<typeof userSecretSchema>[]> {
    const masked = await deps.secrets.maskedValues(secrets);
    return secrets.map((secret) => ({
      id: secret.id,
      name: secret.name,
      provider: secret.provider,
      masked_value: masked.get(secret.id) ?? '••••••••',
      created_at: secret.createdAt.toISOString(),
      updated_at: secret.updatedAt.toISOString(),
    }));
  }
  const toUserSecret = async (secret: PublicSecret) => (await toUserSecrets([secret]))[0]!;

  return async function register(parent: FastifyInstance) {
    const app = setUpDoor(parent, deps, userSecretsV1Door, canonicalErrorHandler);
    const errors = errorResponses(canonicalErrorSchema, [400, 401, 403, 404, 409, 412, 413, 422, 429, 503]);
    const base = '/api/v1/user/secrets';
    const tags = ['User secrets v1'];

    app.post(
      base,
      {
        schema: {
          tags,
          summary: 'Create a secret',
          headers: z.looseObject({ 'idempotency-key': idempotencyKeyHeader }),
          body: createBody,
          response: { 201: userSecretSchema, ...errors },
        },
      },
      async (request, reply) => {
        const secret = await deps.secrets.create(callerOf(request), request.body, { idempotencyKey: request.headers['idempotency-key'] });
        return reply
          .status(201)
          .header('etag', etagOf(secret))
          .send(await toUserSecret(secret));
      },
    );

    app.get(
      base,
      {
        schema: {
          tags,
          summary: 'List secrets, by name',
          response: { 200: z.object({ secrets: z.array(userSecretSchema), total: z.number().int() }), ...errors },
        },
      },
      async (request) => {
        const secrets = await toUserSecrets(await deps.secrets.listAll(callerOf(request)));
        return { secrets, total: secrets.length };
      },
    );

    app.get(
      `${base}/presets`,
      {
        schema: {
          tags,
          summary: 'Provider presets: which secret each provider key goes into, and whether it is set',
          response: { 200: z.object({ presets: z.array(presetSchema) }), ...errors },
        },
      },
      async (request) => {
        const names = new Set((await deps.secrets.listAll(callerOf(request))).map((s) => s.name));
        return { presets: deps.presets.map((p) => ({ provider: p.provider, env_var_name: p.envVarName, configured: names.has(p.envVarName) })) };
      },
    );

    app.post(
      `${base}/preset`,
      {
        schema: {
          tags,
          summary: "Create a secret from a provider preset: named by the preset's env_var_name, with its provider",
          headers: z.looseObject({ 'idempotency-key': idempotencyKeyHeader }),
          body: presetBody,
          response: { 201: userSecretSchema, ...errors },
        },
      },
      async (request, reply) => {
        const preset = deps.presets.find((p) => p.provider === request.body.provider)!;
        const secret = await deps.secrets.create(
          callerOf(request),
          { name: preset.envVarName, value: request.body.value, provider: preset.provider },
          { idempotencyKey: request.headers['idempotency-key'] },
        );
        return reply
          .status(201)
          .header('etag', etagOf(secret))
          .send(await toUserSecret(secret));
      },
    );

    app.get(
      `${base}/:id`,
      {
        schema: { tags, summary: 'Get a secret', params: idParams, response: { 200: userSecretSchema, ...errors } },
      },
      async (request, reply) => {
        const secret = await deps.secrets.get(callerOf(request), { id: request.params.id });
        return reply.header('etag', etagOf(secret)).send(await toUserSecret(secret));
      },
    );

    app.put(
      `${base}/:id`,
      {
        schema: {
          tags,
          summary: "Update a secret's value",
          description: "Update an existing secret's value. The new value is encrypted at rest.",
          params: idParams,
          headers: z.looseObject({ 'if-match': ifMatchHeader }),
          body: updateBody,
          response: { 200: userSecretSchema, ...errors },
        },
      },
      async (request, reply) => {
        const secret = await deps.secrets.update(
          callerOf(request),
          { id: request.params.id },
          { value: request.body.value },
          {
            expectedVersion: expectedVersionOf(request),
          },
        );
        return reply.header('etag', etagOf(secret)).send(await toUserSecret(secret));
      },
    );

    app.delete(
      `${base}/:id`,
      {
        schema: { tags, summary: 'Delete a secret', params: idParams, response: { 204: z.null().describe('Deleted'), ...errors } },
      },
      async (request, reply) => {
        await deps.secrets.delete(callerOf(request), { id: request.params.id });
        return reply.status(204).send(null);
      },
    );
  };
}

export const userSecretsV1Door = {
  slug: 'user-secrets-v1',
  title: 'User secrets API v1',
  description: "Dreadnode's user secrets: masked previews, provider presets and the canonical error envelope {code, detail, type}.",
  security: ['bearer', 'apiKey'],
  credentials: { extraHeaders: ['x-api-key'] },
  register: userSecretsV1Routes,
} as const satisfies RestDoor;

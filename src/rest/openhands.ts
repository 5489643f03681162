// REST door 4: OpenHands' custom-secrets API, as its own server serves it to
// its frontend (frontend/src/api/secrets-service.ts) and to its nested
// conversation manager: V0 under /api/secrets (openhands/server/routes/
// secrets.py) and V1 under /api/v1/secrets (openhands/app_server/secrets/
// secrets_router.py). A secret_id in a path is the secret's name; values are
// write-only, as in OpenHands.
//
// V0's paths are LangWatch's too: requests that authenticate with
// X-Session-API-Key (and no LangWatch credential) are routed here by the
// `dialect` constraint; X-Auth-Token and Bearer callers keep LangWatch's.
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { descriptionSchema, openHandsNameSchema, secretValueSchema } from '../secrets/rules.ts';
import { SecretNameTakenError } from '../secrets/errors.ts';
import { langwatchErrorSchema } from './langwatch.ts';
import type { RequestFailure } from '../errors/kinds.ts';
import type { PublicSecret } from '../secrets/service.ts';
import { callerOf, doorErrorHandler, errorResponses, setUpDoor, etagOf, expectedVersionOf, ifMatchHeader, type RestDoor, type RestDoorDeps } from './common.ts';

const validationErrorSchema = z.object({
  loc: z.array(z.union([z.string(), z.number()])),
  msg: z.string(),
  type: z.string(),
});
/** FastAPI's HTTPValidationError. */
export const httpValidationErrorSchema = z.object({ detail: z.array(validationErrorSchema) });
/** FastAPI's HTTPException body. */
export const httpErrorSchema = z.object({ detail: z.string() });
/** What OpenHands' V0 routes answer themselves: `{error}` for an unknown name, `{message}` for a taken one. */
const v0NotFoundSchema = z.object({ error: z.string() });
const v0TakenSchema = z.object({ message: z.string() });

const CustomSecretWithoutValueModel = z.object({
  name: openHandsNameSchema,
  description: descriptionSchema.nullish(),
});
const CustomSecretModel = z.object({
  name: openHandsNameSchema,
  value: secretValueSchema,
  description: descriptionSchema.nullish(),
});
const customSecretItem = z.object({ name: z.string(), description: z.string().nullable() });
/** OpenHands answers every edit with `{"message": "..."}`. */
const editResponse = z.record(z.string(), z.string());
const nameParams = z.object({ secret_id: z.string().describe('The name of the secret') });

const toItem = (secret: PublicSecret) => ({ name: secret.name, description: secret.description ?? '' });

type Version = 'v0' | 'v1';

/**
 * The failures OpenHands' own handlers word (an unknown name, a taken one):
 * V0 returns them as `{error}` and `{message}`, V1 raises HTTPException,
 * `{detail}`. Everything else is FastAPI's: 422 `{detail: [...]}`, else `{detail}`.
 */
function openHandsErrorHandler(version: Version) {
  const words =
    version === 'v0'
      ? { notFound: (message: string) => ({ error: message }), taken: (message: string) => ({ message }) }
      : { notFound: (detail: string) => ({ detail }), taken: (detail: string) => ({ detail }) };
  return doorErrorHandler((failure: RequestFailure, request: FastifyRequest) => {
    switch (failure.kind) {
      case 'validation':
        return { body: { detail: failure.issues.map((i) => ({ loc: [i.location, ...i.path], msg: i.message, type: i.code })) } };
      case 'malformed':
        // FastAPI answers a body it cannot decode with 422 json_invalid.
        return { status: 422, body: { detail: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }] } };
      case 'not_found': {
        const name = (request.params as { secret_id?: string } | undefined)?.secret_id ?? '';
        return { body: words.notFound(`Secret with ID ${name} not found`) };
      }
      case 'conflict':
        // OpenHands answers a taken name with 400.
        if (failure.error instanceof SecretNameTakenError) {
          return { status: 400, body: words.taken(`Secret ${failure.error.secretName} already exists`) };
        }
        return { status: 400, body: { detail: failure.message } };
      default:
        return { body: { detail: failure.message } };
    }
  });
}

function registerCustomSecretRoutes(parent: FastifyInstance, deps: RestDoorDeps, version: Version) {
  const app = setUpDoor(parent, deps, openHandsDoor, openHandsErrorHandler(version));
  const base = version === 'v0' ? '/api/secrets' : '/api/v1/secrets';
  // V0 shares LangWatch's paths: only X-Session-API-Key callers come here.
  const route = version === 'v0' ? { constraints: { dialect: 'openhands' } } : {};
  const tags = [version === 'v0' ? 'OpenHands (V0)' : 'OpenHands (V1)'];
  const errors = {
    ...errorResponses(httpErrorSchema, [403, 412, 413, 429, 503]),
    // Without X-Session-API-Key the V0 paths are LangWatch's, and so is its 401.
    401: version === 'v0' ? z.union([httpErrorSchema, langwatchErrorSchema]) : httpErrorSchema,
    422: httpValidationErrorSchema,
  };
  const notFound = version === 'v0' ? v0NotFoundSchema : httpErrorSchema;
  const taken = version === 'v0' ? z.union([v0TakenSchema, httpErrorSchema]) : httpErrorSchema;

  app.get(
    base,
    {
      ...route,
      schema: {
        tags,
        summary: 'Load Custom Secrets Names',
        description: 'The names and descriptions of the custom secrets, never their values.',
        response: { 200: z.object({ custom_secrets: z.array(customSecretItem) }), ...errors },
      },
    },
    async (request) => ({ custom_secrets: (await deps.secrets.listAll(callerOf(request))).map(toItem) }),
  );

  if (version === 'v1') {
    app.get(
      `${base}/search`,
      {
        schema: {
          tags,
          summary: 'Search Custom Secrets',
          description: 'A page of custom secrets in name order, optionally those whose name contains a string (any case).',
          querystring: z.object({
            name__contains: z.string().optional(),
            page_id: z.string().optional().describe('The next_page_id of the previous page'),
            limit: z.coerce.number().int().gt(0).lte(100).default(100),
          }),
          response: { 200: z.object({ items: z.array(customSecretItem), next_page_id: z.string().nullable() }), ...errors },
        },
      },
      async (request) => {
        const { name__contains: contains, page_id: pageId, limit } = request.query;
        const all = (await deps.secrets.listAll(callerOf(request))).filter(
          (s) => contains === undefined || s.name.toLowerCase().includes(contains.toLowerCase()),
        );
        // As OpenHands: the page starts after the secret named page_id, or at the start if there is none.
        const start = pageId === undefined ? 0 : all.findIndex((s) => s.name === pageId) + 1;
        const page = all.slice(start, start + limit);
        return { items: page.map(toItem), next_page_id: start + limit < all.length ? (page.at(-1)?.name ?? null) : null };
      },
    );
  }

  app.post(
    base,
    {
      ...route,
      schema: {
        tags,
        summary: 'Create Custom Secret',
        body: CustomSecretModel,
        response: { 201: editResponse, 400: taken, ...errors },
      },
    },
    async (request, reply) => {
      const { name, value, description } = request.body;
      const secret = await deps.secrets.create(callerOf(request), { name, value, description: description ?? null });
      return reply.status(201).header('etag', etagOf(secret)).send({ message: 'Secret created successfully' });
    },
  );

  app.put(
    `${base}/:secret_id`,
    {
      ...route,
      schema: {
        tags,
        summary: 'Update Custom Secret',
        description: 'Renames and/or re-describes the secret named secret_id; never touches its value.',
        params: nameParams,
        headers: z.looseObject({ 'if-match': ifMatchHeader }),
        body: CustomSecretWithoutValueModel,
        response: { 200: editResponse, 400: taken, 404: notFound, ...errors },
      },
    },
    async (request, reply) => {
      const { name, description } = request.body;
      const secret = await deps.secrets.update(
        callerOf(request),
        { name: request.params.secret_id },
        { name, description },
        {
          expectedVersion: expectedVersionOf(request),
        },
      );
      return reply.header('etag', etagOf(secret)).send({ message: 'Secret updated successfully' });
    },
  );

  app.delete(
    `${base}/:secret_id`,
    {
      ...route,
      schema: {
        tags,
        summary: 'Delete Custom Secret',
        description: 'Deletes the secret named secret_id (restorable during the recovery window).',
        params: nameParams,
        response: { 200: editResponse, 404: notFound, ...errors },
      },
    },
    async (request) => {
      await deps.secrets.delete(callerOf(request), { name: request.params.secret_id });
      return { message: 'Secret deleted successfully' };
    },
  );
}

function openHandsRoutes(deps: RestDoorDeps): FastifyPluginAsync {
  return async function register(parent: FastifyInstance) {
    await parent.register(async (v0) => registerCustomSecretRoutes(v0, deps, 'v0'));
    await parent.register(async (v1) => registerCustomSecretRoutes(v1, deps, 'v1'));
  };
}

export const openHandsDoor = {
  slug: 'openhands',
  title: 'OpenHands-compatible secrets API',
  description: "OpenHands' custom secrets: V0 under /api/secrets with X-Session-API-Key, V1 under /api/v1/secrets.",
  security: ['sessionKey'],
  credentials: { extraHeaders: ['x-session-api-key'] },
  register: openHandsRoutes,
} as const satisfies RestDoor;

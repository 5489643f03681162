// REST door 4: OpenHands' PUT /api/secrets/{secret_id}, where secret_id is the
// secret's name: renames and/or re-describes a secret, never its value.
// The path is LangWatch's too; requests that authenticate with
// X-Session-API-Key (and no LangWatch credential) are routed here.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { descriptionSchema, openHandsNameSchema } from '../secrets/rules.ts';
import { langwatchErrorSchema } from './langwatch.ts';
import type { SecretService } from '../secrets/service.ts';
import {
  callerOf,
  type DoorDeps,
  doorErrorHandler,
  errorResponses,
  setUpDoor,
  etagOf,
  expectedVersionOf,
  ifMatchHeader,
} from './common.ts';

const validationErrorSchema = z.object({
  loc: z.array(z.union([z.string(), z.number()])),
  msg: z.string(),
  type: z.string(),
});
/** FastAPI's HTTPValidationError. */
export const httpValidationErrorSchema = z.object({ detail: z.array(validationErrorSchema) });
/** FastAPI's HTTPException body. */
export const httpErrorSchema = z.object({ detail: z.string() });

const CustomSecretWithoutValueModel = z.object({
  name: openHandsNameSchema,
  description: descriptionSchema.nullish(),
});

const openHandsErrorHandler = doorErrorHandler((failure) => {
  switch (failure.kind) {
    case 'validation':
      return { body: { detail: failure.issues.map((i) => ({ loc: ['body', ...i.path], msg: i.message, type: i.code })) } };
    case 'malformed':
      // FastAPI answers a body it cannot decode with 422 json_invalid.
      return { status: 422, body: { detail: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }] } };
    case 'conflict':
      // OpenHands answers a taken name with 400.
      return { status: 400, body: { detail: failure.message } };
    default:
      return { body: { detail: failure.message } };
  }
});

export function openHandsDoor(deps: DoorDeps & { secrets: SecretService }) {
  return async function register(parent: FastifyInstance) {
    const app = setUpDoor(parent, deps, 'openhands', openHandsErrorHandler, { sessionHeader: true });

    app.put('/api/secrets/:secret_id', {
      constraints: { dialect: 'openhands' },
      schema: {
        tags: ['OpenHands'],
        summary: 'Update Custom Secret',
        description: "Renames and/or re-describes the secret named secret_id; never touches its value. Needs X-Session-API-Key.",
        params: z.object({ secret_id: z.string().describe('The name of the secret') }),
        headers: z.looseObject({ 'if-match': ifMatchHeader }),
        body: CustomSecretWithoutValueModel,
        response: {
          200: z.record(z.string(), z.string()),
          ...errorResponses(httpErrorSchema, [400, 403, 404, 412, 413, 429, 503]),
          // Without X-Session-API-Key the path is LangWatch's, and so is its 401.
          401: z.union([httpErrorSchema, langwatchErrorSchema]),
          422: httpValidationErrorSchema,
        },
      },
    }, async (request, reply) => {
      const { name, description } = request.body;
      const secret = await deps.secrets.update(callerOf(request), { name: request.params.secret_id }, { name, description }, {
        expectedVersion: expectedVersionOf(request),
      });
      return reply.header('etag', etagOf(secret)).send({ message: 'Secret updated successfully' });
    });
  };
}

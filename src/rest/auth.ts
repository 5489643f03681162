// POST /api/auth/oidc: a workload (a CI job, a pod) trades the token its
// platform gave it for a short-lived API key. No key is needed to call it;
// a refused login counts against the client's address as a refused key does
// (over the limit: 429, and no token is checked).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Door } from '../auth/caller.ts';
import { ForbiddenError, UnauthenticatedError } from '../auth/errors.ts';
import type { IdentityService, OidcLogin } from '../identities/service.ts';
import { identityIdSchema, oidcTokenSchema } from '../identities/rules.ts';
import { acceptJsonOfAnyType, type DoorDeps, errorResponses, refuseAuthentication } from './common.ts';
import { langwatchErrorHandler, langwatchErrorSchema } from './langwatch.ts';

export interface LoginDeps extends Omit<DoorDeps, 'authenticator'> {
  readonly identities: IdentityService;
}

/** A login at any door: refused ones are counted and recorded as refused keys are (see refuseAuthentication). */
export async function loginWithOidc(request: FastifyRequest, deps: LoginDeps, door: Door, input: { identity: string; token: string }): Promise<OidcLogin> {
  if (await deps.refusals.isOverLimit(request)) throw await refuseAuthentication(request, deps, door, new UnauthenticatedError());
  try {
    return await deps.identities.login(input, { door, requestId: request.id });
  } catch (err) {
    if (err instanceof UnauthenticatedError || err instanceof ForbiddenError) throw await refuseAuthentication(request, deps, door, err);
    throw err;
  }
}

export function authRoutes(deps: LoginDeps) {
  return async function register(parent: FastifyInstance) {
    const app = parent.withTypeProvider<ZodTypeProvider>();
    acceptJsonOfAnyType(app);
    app.setErrorHandler(langwatchErrorHandler);

    app.post(
      '/api/auth/oidc',
      {
        schema: {
          tags: ['Auth'],
          summary: "Trade a workload's OpenID Connect token (GitHub Actions, Kubernetes, GitLab) for a short-lived API key",
          security: [],
          body: z.object({
            identity: identityIdSchema.describe('The id createIdentity answered'),
            token: oidcTokenSchema.describe('The JWT the platform issued (it is checked, never stored or logged)'),
          }),
          response: {
            200: z.object({
              apiKey: z.string().describe('Shown this once'),
              expiresAt: z.string().describe('ISO 8601; never after the token itself expires'),
              keyId: z.string(),
              environment: z.string().nullable(),
              scopes: z.array(z.string()),
            }),
            ...errorResponses(langwatchErrorSchema, [400, 401, 403, 413, 422, 429, 503]),
          },
        },
      },
      async (request) => {
        const login = await loginWithOidc(request, deps, 'auth', request.body);
        return { ...login, scopes: [...login.scopes], expiresAt: login.expiresAt.toISOString() };
      },
    );
  };
}

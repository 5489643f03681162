// POST /admin/projects: creates a project and its first API key, for holders
// of ADMIN_TOKEN. The token is compared in constant time (through hashes of
// equal length), and the answer carries a key, so it is never cached.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { readApiKey } from '../auth/credentials.ts';
import { UnauthenticatedError } from '../auth/errors.ts';
import type { AuditLog } from '../audit/service.ts';
import type { AuthRefusals } from '../auth/refusals.ts';
import type { ProjectService } from '../projects/service.ts';
import { projectNameSchema } from '../secrets/rules.ts';
import { acceptJsonOfAnyType, errorResponses, headersOf, refuseAuthentication } from './common.ts';
import { langwatchErrorHandler, langwatchErrorSchema } from './langwatch.ts';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export function adminRoutes(deps: { adminToken: string | undefined; projects: ProjectService; audit: AuditLog; refusals: AuthRefusals }) {
  const expected = deps.adminToken === undefined ? undefined : sha256(deps.adminToken);

  return async function register(parent: FastifyInstance) {
    const app = parent.withTypeProvider<ZodTypeProvider>();
    acceptJsonOfAnyType(app);
    app.setErrorHandler(langwatchErrorHandler);

    app.addHook('onRequest', async (request) => {
      const presented = readApiKey(headersOf(request));
      if (expected && presented && timingSafeEqual(sha256(presented), expected)) return;
      throw await refuseAuthentication(
        request,
        deps,
        'admin',
        new UnauthenticatedError(
          expected
            ? 'A valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>).'
            : 'The admin API is disabled: start the service with ADMIN_TOKEN set.',
        ),
      );
    });

    app.post(
      '/admin/projects',
      {
        // Guarded by ADMIN_TOKEN (at least 16 characters), not by the per-key limit.
        config: { rateLimit: false },
        schema: {
          tags: ['Admin'],
          summary: 'Create a project and its first API key (shown once)',
          security: [{ adminToken: [] }],
          body: z.object({ name: projectNameSchema }),
          response: {
            201: z.object({ id: z.string(), name: z.string(), apiKey: z.string() }),
            ...errorResponses(langwatchErrorSchema, [400, 401, 413, 422, 429, 503]),
          },
        },
      },
      async (request, reply) => {
        const project = await deps.projects.create(request.body.name);
        await deps.audit.record({ projectId: project.id, door: 'admin', operation: 'create_project', outcome: 'success', requestId: request.id });
        return reply.status(201).send(project);
      },
    );
  };
}

// API key management: create (the key is returned once), list, revoke. Needs keys:manage.
import { ForbiddenError } from '../../auth/errors.ts';
import { SCOPES, type Scope, scopesSchema } from '../../auth/scopes.ts';
import type { ApiKeyInfo } from '../../keys/service.ts';
import { NotFoundError } from '../../secrets/errors.ts';
import { environmentSlugSchema } from '../../secrets/rules.ts';
import { builder } from '../builder.ts';
import { InputValidationError, inGraphQLTerms } from '../validation-error.ts';
import { pageOf, pageSize } from '../pages.ts';
import { z } from 'zod';

const ApiKey = builder.objectRef<ApiKeyInfo>('ApiKey').implement({
  description: 'An API key of the project. Only its prefix is ever shown again after creation.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'The first 10 characters of the key.' }),
    scopes: t.exposeStringList('scopes', { description: SCOPES.join(', ') }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    environment: t.exposeString('environment', {
      nullable: true,
      description: 'The environment the key is bound to: it sees no other, through any door. Null: unbound (the REST doors act on "default").',
    }),
    requireRevealReason: t.exposeBoolean('requireRevealReason', { description: 'Its reveals must say why (X-Reveal-Reason, reason:, --reason).' }),
    identityId: t.exposeID('identityId', {
      nullable: true,
      description: 'The workload identity whose login issued it (deleting the identity revokes it); null: made by a key or the admin route.',
    }),
  }),
});

const CreateApiKeySuccess = builder.objectRef<{ apiKey: ApiKeyInfo; key: string }>('CreateApiKeySuccess').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKey, resolve: (result) => result.apiKey }),
    key: t.exposeString('key', { description: 'The key itself: shown this once, stored only as a hash.' }),
  }),
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({
      required: true,
      validate: { schema: z.string().trim().min(1, 'Name must not be empty').max(100, 'Name must be at most 100 characters') },
    }),
    scopes: t.stringList({ required: true, validate: { schema: scopesSchema } }),
    expiresAt: t.field({ type: 'DateTime' }),
    environment: t.string({
      description: 'Bind the key to this environment. A bound key can only create keys bound to its own.',
      validate: { schema: environmentSlugSchema },
    }),
    requireRevealReason: t.boolean({ description: 'Its reveals must carry a reason. A key that must give one can only create keys that must too.' }),
  }),
});

builder.queryField('apiKeys', (t) =>
  t.connection(
    {
      type: ApiKey,
      description: "The project's API keys, oldest first (needs keys:manage).",
      resolve: async (_root, args, ctx) => {
        const page = await ctx.keys.list(ctx.caller, { first: pageSize(args.first), after: args.after ?? undefined });
        return pageOf(page.keys, page.hasNextPage, (key) => key.id);
      },
    },
    { name: 'ApiKeyConnection' },
    { name: 'ApiKeyEdge' },
  ),
);

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeySuccess,
    description: "Creates an API key for the caller's project with the given scopes (needs keys:manage).",
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    errors: { types: [InputValidationError, NotFoundError, ForbiddenError], directResult: true, union: { name: 'CreateApiKeyResult' } },
    resolve: (_root, { input }, ctx) =>
      inGraphQLTerms(
        ctx.keys.create(ctx.caller, {
          name: input.name,
          scopes: input.scopes as Scope[],
          expiresAt: input.expiresAt ?? null,
          environment: input.environment ?? null,
          requireRevealReason: input.requireRevealReason ?? undefined,
        }),
        ['input'],
      ),
  }),
  revokeApiKey: t.field({
    type: ApiKey,
    description: "Revokes a key of the caller's project; every node refuses it within 2 s (needs keys:manage).",
    args: { id: t.arg.id({ required: true }) },
    errors: {
      types: [NotFoundError, ForbiddenError],
      result: { name: 'RevokeApiKeySuccess' },
      union: { name: 'RevokeApiKeyResult' },
      dataField: { name: 'apiKey' },
    },
    resolve: (_root, { id }, ctx) => ctx.keys.revoke(ctx.caller, id),
  }),
}));

// The Secret type, with the queries that read secrets and the mutations that write them.
import { GraphQLError } from 'graphql';
import { ConflictError, NotFoundError, SecretNotFoundError } from '../../secrets/errors.ts';
import {
  PAGE_SIZE_DEFAULT,
  pageSizeSchema,
  secretNameSchema,
  secretValueSchema,
  descriptionSchema,
  providerSchema,
} from '../../secrets/rules.ts';
import type { PublicSecret, SecretRef } from '../../secrets/service.ts';
import { builder, type Context } from '../builder.ts';
import { InputValidationError } from '../validation-error.ts';

export const Secret = builder.objectRef<PublicSecret>('Secret').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    projectId: t.exposeID('projectId'),
    name: t.exposeString('name'),
    version: t.exposeInt('version', { description: 'The current value version: 1 on creation, one more per value change.' }),
    description: t.exposeString('description', { nullable: true }),
    provider: t.exposeString('provider', { nullable: true, description: 'Which provider the secret is for (free text, up to 64 characters).' }),
    createdBy: t.exposeString('createdBy', { description: 'Id of the API key that created the secret.' }),
    lastUpdatedBy: t.exposeString('lastUpdatedBy', { description: 'Id of the API key that last changed the secret.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const CreateSecretInput = builder.inputType('CreateSecretInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: { schema: secretNameSchema } }),
    value: t.string({ required: true, validate: { schema: secretValueSchema } }),
    description: t.string({ validate: { schema: descriptionSchema } }),
    provider: t.string({ validate: { schema: providerSchema } }),
  }),
});

const UpdateSecretMetadataInput = builder.inputType('UpdateSecretMetadataInput', {
  description: 'Absent fields stay as they are; null clears a description or provider. Renaming a secret to its own name changes nothing.',
  fields: (t) => ({
    name: t.string({ validate: { schema: secretNameSchema } }),
    description: t.string({ validate: { schema: descriptionSchema } }),
    provider: t.string({ validate: { schema: providerSchema } }),
  }),
});

const UpdateSecretInput = builder.inputType('UpdateSecretInput', {
  fields: (t) => ({
    value: t.string({ required: true, validate: { schema: secretValueSchema } }),
  }),
});

// Cursors are opaque to clients; inside they are the last name of the page.
const encodeCursor = (name: string) => Buffer.from(name, 'utf8').toString('base64url');
function decodeCursor(cursor: string): string {
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!cursor || encodeCursor(name) !== cursor) {
    throw new GraphQLError('Invalid cursor: pass an endCursor from an earlier page', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return name;
}

const PageInfo = builder.objectRef<{ hasNextPage: boolean; endCursor: string | null }>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});

const SecretEdge = builder.objectRef<PublicSecret>('SecretEdge').implement({
  fields: (t) => ({
    cursor: t.string({ resolve: (secret) => encodeCursor(secret.name) }),
    node: t.field({ type: Secret, resolve: (secret) => secret }),
  }),
});

const SecretConnection = builder
  .objectRef<{ secrets: PublicSecret[]; hasNextPage: boolean }>('SecretConnection')
  .implement({
    fields: (t) => ({
      edges: t.field({ type: [SecretEdge], resolve: (page) => page.secrets }),
      pageInfo: t.field({
        type: PageInfo,
        resolve: (page) => ({
          hasNextPage: page.hasNextPage,
          endCursor: page.secrets.length > 0 ? encodeCursor(page.secrets[page.secrets.length - 1]!.name) : null,
        }),
      }),
    }),
  });

/** A query answers null, not an error, for a secret the caller cannot see. */
async function getOrNull(ctx: Context, ref: SecretRef): Promise<PublicSecret | null> {
  try {
    return await ctx.secrets.get(ctx.caller, ref);
  } catch (err) {
    if (err instanceof SecretNotFoundError) return null;
    throw err;
  }
}

builder.queryFields((t) => ({
  secret: t.field({
    type: Secret,
    nullable: true,
    description: "A secret of the caller's project; null when there is none with this id.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => getOrNull(ctx, { id }),
  }),
  secretByName: t.field({
    type: Secret,
    nullable: true,
    description: "The caller's secret of this name; null when there is none.",
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, { name }, ctx) => getOrNull(ctx, { name }),
  }),
  secrets: t.field({
    type: SecretConnection,
    description: "The caller's secrets in name order, a page at a time.",
    args: {
      first: t.arg.int({ validate: { schema: pageSizeSchema } }),
      after: t.arg.string(),
    },
    resolve: (_root, args, ctx) =>
      ctx.secrets.list(ctx.caller, {
        first: args.first ?? PAGE_SIZE_DEFAULT,
        after: args.after == null ? undefined : decodeCursor(args.after),
      }),
  }),
}));

builder.mutationFields((t) => ({
  createSecret: t.field({
    type: Secret,
    args: { input: t.arg({ type: CreateSecretInput, required: true }) },
    errors: {
      types: [InputValidationError, ConflictError],
      result: { name: 'CreateSecretSuccess' },
      union: { name: 'CreateSecretResult' },
      dataField: { name: 'secret' },
    },
    resolve: (_root, { input }, ctx) => ctx.secrets.create(ctx.caller, input),
  }),
  updateSecret: t.field({
    type: Secret,
    args: {
      id: t.arg.id({ required: true }),
      input: t.arg({ type: UpdateSecretInput, required: true }),
    },
    errors: {
      types: [InputValidationError, NotFoundError],
      result: { name: 'UpdateSecretSuccess' },
      union: { name: 'UpdateSecretResult' },
      dataField: { name: 'secret' },
    },
    resolve: (_root, { id, input }, ctx) => ctx.secrets.update(ctx.caller, { id }, { value: input.value }),
  }),
  updateSecretMetadata: t.field({
    type: Secret,
    description: "Renames a secret and/or changes its description or provider; never touches its value.",
    args: {
      id: t.arg.id({ required: true }),
      input: t.arg({ type: UpdateSecretMetadataInput, required: true }),
    },
    errors: {
      types: [InputValidationError, NotFoundError, ConflictError],
      result: { name: 'UpdateSecretMetadataSuccess' },
      union: { name: 'UpdateSecretMetadataResult' },
      dataField: { name: 'secret' },
    },
    resolve: (_root, { id, input }, ctx) =>
      ctx.secrets.update(ctx.caller, { id }, {
        name: input.name ?? undefined,
        description: input.description,
        provider: input.provider,
      }),
  }),
}));

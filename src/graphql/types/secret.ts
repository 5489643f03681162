// The Secret type, with the queries that read secrets and the mutations that write them.
import { ConflictError, NotFoundError, SecretNotFoundError, UnreadableValueError } from '../../secrets/errors.ts';
import {
  secretNameSchema,
  descriptionSchema,
  expectedVersionSchema,
  idempotencyKeySchema,
  nameStartsWithSchema,
  providerSchema,
  environmentSlugSchema,
  revealReasonSchema,
  secretValueSchema,
  SECRET_VALUE_MAX,
} from '../../secrets/rules.ts';
import { ForbiddenError } from '../../auth/errors.ts';
import { restorableUntil, type DeletedCursor, type PublicSecret, type SecretRef, type SecretVersionInfo } from '../../secrets/service.ts';
import type { Source } from '../../secrets/inheritance.ts';
import { builder, type Context } from '../builder.ts';
import { badCursor, pageOf, pageSize } from '../pages.ts';
import { InputValidationError, inGraphQLTerms } from '../validation-error.ts';

/** The `environment` argument of every secret query and mutation. */
export const ENVIRONMENT_ARG = {
  description:
    'The slug of the environment to act in; absent: the API key\'s own environment, else "default". A key bound to an environment can name no other (ForbiddenError).',
  validate: { schema: environmentSlugSchema },
};

/** The caller, acting in the environment a field names. */
export const inEnvironment = (ctx: Context, environment: string | null | undefined) => ({ ...ctx.caller, environment: environment ?? undefined });

export const Secret = builder.objectRef<PublicSecret>('Secret').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    projectId: t.exposeID('projectId'),
    environment: t.exposeString('environment', { description: 'The slug of the environment it lives in.' }),
    name: t.exposeString('name'),
    version: t.exposeInt('version', { description: 'The current value version: 1 on creation, one more per value change.' }),
    description: t.exposeString('description', { nullable: true }),
    provider: t.exposeString('provider', { nullable: true, description: 'Which provider the secret is for (free text, up to 64 characters).' }),
    createdBy: t.exposeString('createdBy', { description: 'Id of the API key that created the secret.' }),
    lastUpdatedBy: t.exposeString('lastUpdatedBy', { description: 'Id of the API key that last changed the secret.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    deletedAt: t.expose('deletedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the secret was deleted; it can be restored until its recovery window ends.',
    }),
    restorableUntil: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When a deleted secret stops being restorable (its recovery window ends and it is purged). Null: not deleted.',
      resolve: (secret) => (secret.deletedAt === null ? null : restorableUntil(secret)),
    }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description:
        'When the secret expires: from that instant it is gone from every read, as if deleted then (restorable during the recovery window). Null: never.',
    }),
    versions: t.connection(
      {
        type: SecretVersion,
        description: "The secret's value versions, newest first: numbers, times and authors, never values.",
        resolve: async (secret, args, ctx) => {
          const page = await ctx.secrets.versions(
            inEnvironment(ctx, secret.environment),
            { id: secret.id },
            { first: pageSize(args.first), before: args.after == null ? undefined : decodeVersionCursor(args.after) },
          );
          return pageOf(page.versions, page.hasNextPage, (v) => encodeVersionCursor(v.version));
        },
      },
      { name: 'SecretVersionConnection' },
      { name: 'SecretVersionEdge' },
    ),
  }),
});

const SecretVersion = builder.objectRef<SecretVersionInfo>('SecretVersion').implement({
  description: 'One immutable value version of a secret (its value is never exposed here).',
  fields: (t) => ({
    version: t.exposeInt('version'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdBy: t.exposeString('createdBy', { description: 'Id of the API key that wrote this version.' }),
  }),
});

const encodeVersionCursor = (version: number) => Buffer.from(`v:${version}`, 'utf8').toString('base64url');
function decodeVersionCursor(cursor: string): number {
  const match = Buffer.from(cursor, 'base64url')
    .toString('utf8')
    .match(/^v:(\d{1,9})$/);
  if (!match || encodeVersionCursor(Number(match[1])) !== cursor) throw badCursor();
  return Number(match[1]);
}

const CreateSecretInput = builder.inputType('CreateSecretInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: { schema: secretNameSchema } }),
    value: t.string({ required: true, description: `1 to ${SECRET_VALUE_MAX} characters, as on every REST door.`, validate: { schema: secretValueSchema } }),
    description: t.string({ validate: { schema: descriptionSchema } }),
    provider: t.string({ validate: { schema: providerSchema } }),
    expiresAt: t.field({ type: 'DateTime', description: 'When the secret expires (in the future); absent or null: never.' }),
  }),
});

const EXPIRES_AT_CHANGE = 'A new expiry (in the future); null: never expires; absent: unchanged.';

/** GraphQL's expiresAt argument as the service's expiry change: absent (undefined) leaves it as it is. */
const expiryOf = (expiresAt: Date | null | undefined) => (expiresAt === undefined ? undefined : expiresAt === null ? null : { at: expiresAt });

const UpdateSecretMetadataInput = builder.inputType('UpdateSecretMetadataInput', {
  description: 'Absent fields stay as they are; null clears a description or provider. Renaming a secret to its own name changes nothing.',
  fields: (t) => ({
    name: t.string({ validate: { schema: secretNameSchema } }),
    description: t.string({ validate: { schema: descriptionSchema } }),
    provider: t.string({ validate: { schema: providerSchema } }),
    expiresAt: t.field({ type: 'DateTime', description: EXPIRES_AT_CHANGE }),
  }),
});

const UpdateSecretInput = builder.inputType('UpdateSecretInput', {
  fields: (t) => ({
    value: t.string({ required: true, description: `1 to ${SECRET_VALUE_MAX} characters, as on every REST door.`, validate: { schema: secretValueSchema } }),
    expectedVersion: t.int({
      description: 'Compare-and-set: write only if the secret is still at this version; ConflictError otherwise.',
      validate: { schema: expectedVersionSchema },
    }),
    expiresAt: t.field({ type: 'DateTime', description: EXPIRES_AT_CHANGE }),
  }),
});

// Cursors are opaque to clients; inside they are the last name of the page.
const encodeCursor = (name: string) => Buffer.from(name, 'utf8').toString('base64url');
function decodeCursor(cursor: string): string {
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!cursor || encodeCursor(name) !== cursor) throw badCursor();
  return name;
}

// Deleted secrets page by (deletedAt, id), newest first.
const encodeDeletedCursor = (secret: PublicSecret) => Buffer.from(`d:${secret.deletedAt?.getTime() ?? 0}:${secret.id}`, 'utf8').toString('base64url');
function decodeDeletedCursor(cursor: string): DeletedCursor {
  const match = Buffer.from(cursor, 'base64url')
    .toString('utf8')
    .match(/^d:(\d{1,15}):([0-9a-f]{24})$/);
  if (!match || Buffer.from(match[0], 'utf8').toString('base64url') !== cursor) throw badCursor();
  return { deletedAt: new Date(Number(match[1])), id: match[2]! };
}

export const SecretSource = builder.enumType('SecretSource', {
  description: 'Where a value the caller sees comes from.',
  values: {
    OWN: { value: 'own', description: "The environment's own secret." },
    INHERITED: { value: 'inherited', description: 'A secret of an environment it inherits from (inheritedFrom names it).' },
    OVERRIDE: { value: 'override', description: "The caller's own personal override, seen by calls with its API key only." },
  } as const,
});

const RevealSecretSuccess = builder.objectRef<{ secret: PublicSecret; value: string; source: Source }>('RevealSecretSuccess').implement({
  fields: (t) => ({
    secret: t.field({ type: Secret, resolve: (result) => result.secret }),
    value: t.exposeString('value'),
    source: t.field({ type: SecretSource, resolve: (result) => result.source.kind }),
    inheritedFrom: t.string({
      nullable: true,
      description: 'With source INHERITED: the slug of the environment the value is inherited from.',
      resolve: (result) => (result.source.kind === 'inherited' ? result.source.environment : null),
    }),
  }),
});

/** A query answers null, not an error, for a secret the caller cannot see. */
async function getOrNull(ctx: Context, ref: SecretRef, environment: string | null | undefined): Promise<PublicSecret | null> {
  try {
    return await ctx.secrets.get(inEnvironment(ctx, environment), ref);
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
    args: { id: t.arg.id({ required: true }), environment: t.arg.string(ENVIRONMENT_ARG) },
    resolve: (_root, { id, environment }, ctx) => getOrNull(ctx, { id }, environment),
  }),
  secretByName: t.field({
    type: Secret,
    nullable: true,
    description: "The caller's secret of this name; null when there is none.",
    args: { name: t.arg.string({ required: true }), environment: t.arg.string(ENVIRONMENT_ARG) },
    resolve: (_root, { name, environment }, ctx) => getOrNull(ctx, { name }, environment),
  }),
  revealSecret: t.field({
    type: RevealSecretSuccess,
    description:
      "A secret's value, current or of `version`: the one field that returns a value, as the caller sees it in its environment (its own personal override first, then the environment's own secret, then the one it inherits: `source` says which). By id, or by name. Needs secrets:reveal; every reveal is audited.",
    args: {
      id: t.arg.id({ description: 'The secret (own, or one the environment inherits); or give `name`.' }),
      name: t.arg.string({ description: 'The name, as the environment sees it; or give `id`.', validate: { schema: secretNameSchema } }),
      version: t.arg.int({ validate: { schema: expectedVersionSchema } }),
      environment: t.arg.string(ENVIRONMENT_ARG),
      reason: t.arg.string({
        description: 'Why: stored in the audit event; required by a key created with requireRevealReason.',
        validate: { schema: revealReasonSchema },
      }),
      resolve: t.arg.boolean({
        description:
          'Expand the references in the value: ${NAME} (same environment), ${slug.NAME} (another), $${ for a literal ${; to a depth of 8. Each secret read through one is a reveal of its own; a missing one or a cycle is a ConflictError naming it.',
      }),
    },
    errors: {
      types: [InputValidationError, NotFoundError, ConflictError, ForbiddenError, UnreadableValueError],
      directResult: true,
      union: { name: 'RevealSecretResult' },
    },
    resolve: async (_root, { id, name, version, environment, reason, resolve }, ctx) => {
      if ((id == null) === (name == null)) throw new InputValidationError([{ path: ['id'], message: 'Give exactly one of id and name' }]);
      const caller = { ...inEnvironment(ctx, environment), revealReason: reason ?? undefined };
      const { secret, value, source } = await ctx.secrets.reveal(caller, id != null ? { id } : { name: name! }, version ?? undefined, {
        resolve: resolve ?? false,
      });
      return { secret, value, source };
    },
  }),
  deletedSecrets: t.connection(
    {
      type: Secret,
      description: "The caller's deleted secrets still in their recovery window, newest deletion first, a page at a time.",
      args: { environment: t.arg.string(ENVIRONMENT_ARG) },
      resolve: async (_root, args, ctx) => {
        const page = await ctx.secrets.listDeleted(inEnvironment(ctx, args.environment), {
          first: pageSize(args.first),
          after: args.after == null ? undefined : decodeDeletedCursor(args.after),
        });
        return pageOf(page.secrets, page.hasNextPage, encodeDeletedCursor);
      },
    },
    { name: 'DeletedSecretConnection' },
    { name: 'DeletedSecretEdge' },
  ),
  secrets: t.connection(
    {
      type: Secret,
      description: "The caller's secrets in name order, a page at a time.",
      args: {
        environment: t.arg.string(ENVIRONMENT_ARG),
        nameStartsWith: t.arg.string({
          description: 'Only the secrets whose name begins with this (case-sensitive); absent or empty: all.',
          validate: { schema: nameStartsWithSchema },
        }),
      },
      resolve: async (_root, args, ctx) => {
        const page = await ctx.secrets.list(inEnvironment(ctx, args.environment), {
          first: pageSize(args.first),
          after: args.after == null ? undefined : decodeCursor(args.after),
          nameStartsWith: args.nameStartsWith || undefined,
        });
        return pageOf(page.secrets, page.hasNextPage, (secret) => encodeCursor(secret.name));
      },
    },
    { name: 'SecretConnection' },
    { name: 'SecretEdge' },
  ),
}));

builder.mutationFields((t) => ({
  createSecret: t.field({
    type: Secret,
    args: {
      input: t.arg({ type: CreateSecretInput, required: true }),
      idempotencyKey: t.arg.string({
        description: 'Repeat a create safely: the same key and input within 24 h returns the first result; another input with it is a ConflictError.',
        validate: { schema: idempotencyKeySchema },
      }),
      environment: t.arg.string(ENVIRONMENT_ARG),
    },
    errors: {
      types: [InputValidationError, NotFoundError, ConflictError, ForbiddenError],
      result: { name: 'CreateSecretSuccess' },
      union: { name: 'CreateSecretResult' },
      dataField: { name: 'secret' },
    },
    resolve: (_root, { input: { expiresAt, ...input }, idempotencyKey, environment }, ctx) =>
      inGraphQLTerms(
        ctx.secrets.create(inEnvironment(ctx, environment), { ...input, expiry: expiryOf(expiresAt) }, { idempotencyKey: idempotencyKey ?? undefined }),
        ['input'],
      ),
  }),
  updateSecret: t.field({
    type: Secret,
    args: {
      id: t.arg.id({ required: true }),
      input: t.arg({ type: UpdateSecretInput, required: true }),
      environment: t.arg.string(ENVIRONMENT_ARG),
    },
    errors: {
      types: [InputValidationError, NotFoundError, ConflictError, ForbiddenError],
      result: { name: 'UpdateSecretSuccess' },
      union: { name: 'UpdateSecretResult' },
      dataField: { name: 'secret' },
    },
    resolve: (_root, { id, input, environment }, ctx) =>
      inGraphQLTerms(
        ctx.secrets.update(
          inEnvironment(ctx, environment),
          { id },
          { value: input.value, expiry: expiryOf(input.expiresAt) },
          {
            expectedVersion: input.expectedVersion ?? undefined,
          },
        ),
        ['input'],
      ),
  }),
  updateSecretMetadata: t.field({
    type: Secret,
    description: 'Renames a secret and/or changes its description or provider; never touches its value.',
    args: {
      id: t.arg.id({ required: true }),
      input: t.arg({ type: UpdateSecretMetadataInput, required: true }),
      environment: t.arg.string(ENVIRONMENT_ARG),
    },
    errors: {
      types: [InputValidationError, NotFoundError, ConflictError, ForbiddenError],
      result: { name: 'UpdateSecretMetadataSuccess' },
      union: { name: 'UpdateSecretMetadataResult' },
      dataField: { name: 'secret' },
    },
    resolve: (_root, { id, input, environment }, ctx) =>
      inGraphQLTerms(
        ctx.secrets.update(
          inEnvironment(ctx, environment),
          { id },
          {
            name: input.name ?? undefined,
            description: input.description,
            provider: input.provider,
            expiry: expiryOf(input.expiresAt),
          },
        ),
        ['input'],
      ),
  }),
  deleteSecret: t.field({
    type: Secret,
    description: 'Deletes a secret: it leaves every list and lookup and its name is free again; restoreSecret brings it back during its recovery window.',
    args: { id: t.arg.id({ required: true }), environment: t.arg.string(ENVIRONMENT_ARG) },
    errors: {
      types: [NotFoundError, ForbiddenError],
      result: { name: 'DeleteSecretSuccess' },
      union: { name: 'DeleteSecretResult' },
      dataField: { name: 'secret' },
    },
    resolve: (_root, { id, environment }, ctx) => ctx.secrets.delete(inEnvironment(ctx, environment), { id }),
  }),
  restoreSecret: t.field({
    type: Secret,
    description: 'Brings a deleted secret back during its recovery window; ConflictError if its name was taken meanwhile.',
    args: { id: t.arg.id({ required: true }), environment: t.arg.string(ENVIRONMENT_ARG) },
    errors: {
      types: [InputValidationError, NotFoundError, ConflictError, ForbiddenError],
      result: { name: 'RestoreSecretSuccess' },
      union: { name: 'RestoreSecretResult' },
      dataField: { name: 'secret' },
    },
    resolve: (_root, { id, environment }, ctx) => inGraphQLTerms(ctx.secrets.restore(inEnvironment(ctx, environment), id), []),
  }),
}));

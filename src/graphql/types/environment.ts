// Environments: a project's development, staging, production... Every
// project has "default". Listing needs secrets:read; creating, renaming and
// deleting (only when empty) need secrets:write and a key bound to none.
import { ForbiddenError } from '../../auth/errors.ts';
import type { EnvironmentRecord } from '../../environments/service.ts';
import { ConflictError, NotFoundError } from '../../secrets/errors.ts';
import { z } from 'zod';
import { environmentNameSchema, environmentSlugSchema, SECRET_NAME_MAX } from '../../secrets/rules.ts';
import type { MatrixRow } from '../../secrets/service.ts';
import { builder, type Context } from '../builder.ts';
import { InputValidationError, inGraphQLTerms } from '../validation-error.ts';
import { Secret } from './secret.ts';

/** The project's environments, listed once per request however many parents a response names. */
const listedFor = new WeakMap<Context, Promise<EnvironmentRecord[]>>();
function listed(ctx: Context): Promise<EnvironmentRecord[]> {
  if (!listedFor.has(ctx)) listedFor.set(ctx, ctx.environments.list(ctx.caller));
  return listedFor.get(ctx)!;
}

export const Environment: ReturnType<typeof builder.objectRef<EnvironmentRecord>> = builder.objectRef<EnvironmentRecord>('Environment');
Environment.implement({
  description: 'An environment of the project: its secrets are apart from those of every other.',
  fields: (t) => ({
    id: t.exposeID('id'),
    slug: t.exposeString('slug', { description: 'What calls name it by: ^[a-z][a-z0-9-]{0,31}$.' }),
    name: t.exposeString('name', { description: 'A display name.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    parent: t.field({
      type: Environment,
      nullable: true,
      description: "The environment it inherits from: its secrets are its own over its parent's (and theirs, up to 8 deep). Null: none.",
      resolve: async (env, _args, ctx) => (env.parent === null ? null : ((await listed(ctx)).find((e) => e.slug === env.parent) ?? null)),
    }),
  }),
});

const parentField = (t: Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0]) =>
  t.string({
    description:
      'The slug of the environment it inherits from (null: none): a chain at most 8 deep, without cycles, never above default. A name deleted in it while inherited stays hidden (a tombstone) until it is created again.',
    validate: { schema: environmentSlugSchema },
  });

const CreateEnvironmentInput = builder.inputType('CreateEnvironmentInput', {
  fields: (t) => ({
    slug: t.string({ required: true, validate: { schema: environmentSlugSchema } }),
    name: t.string({ required: true, validate: { schema: environmentNameSchema } }),
    parent: parentField(t),
  }),
});

const UpdateEnvironmentInput = builder.inputType('UpdateEnvironmentInput', {
  fields: (t) => ({ name: t.string({ validate: { schema: environmentNameSchema } }), parent: parentField(t) }),
});

builder.queryField('environments', (t) =>
  t.field({
    type: [Environment],
    description: "The project's environments, default first (a key bound to one sees that one). Needs secrets:read.",
    resolve: (_root, _args, ctx) => ctx.environments.list(ctx.caller),
  }),
);

const slugArg = (t: Parameters<Parameters<typeof builder.mutationFields>[0]>[0]) =>
  t.arg.string({ required: true, validate: { schema: environmentSlugSchema } });

builder.mutationFields((t) => ({
  createEnvironment: t.field({
    type: Environment,
    description: 'Creates an environment (needs secrets:write and an unbound key).',
    args: { input: t.arg({ type: CreateEnvironmentInput, required: true }) },
    errors: {
      types: [InputValidationError, ConflictError, ForbiddenError],
      result: { name: 'CreateEnvironmentSuccess' },
      union: { name: 'CreateEnvironmentResult' },
      dataField: { name: 'environment' },
    },
    resolve: (_root, { input }, ctx) => inGraphQLTerms(ctx.environments.create(ctx.caller, input), ['input']),
  }),
  updateEnvironment: t.field({
    type: Environment,
    description:
      "Renames an environment's display name and/or sets the environment it inherits from (parent: null for none); its slug stays. Absent fields stay as they are (needs secrets:write and an unbound key).",
    args: { slug: slugArg(t), input: t.arg({ type: UpdateEnvironmentInput, required: true }) },
    errors: {
      types: [InputValidationError, NotFoundError, ForbiddenError],
      result: { name: 'UpdateEnvironmentSuccess' },
      union: { name: 'UpdateEnvironmentResult' },
      dataField: { name: 'environment' },
    },
    resolve: (_root, { slug, input }, ctx) =>
      inGraphQLTerms(
        ctx.environments.update(ctx.caller, slug, { name: input.name ?? undefined, ...(input.parent === undefined ? {} : { parent: input.parent }) }),
        ['input'],
      ),
  }),
  deleteEnvironment: t.field({
    type: Environment,
    description:
      'Deletes an empty environment: no secret, none deleted and still restorable. default is never deleted (needs secrets:write and an unbound key).',
    args: { slug: slugArg(t) },
    errors: {
      types: [InputValidationError, NotFoundError, ConflictError, ForbiddenError],
      result: { name: 'DeleteEnvironmentSuccess' },
      union: { name: 'DeleteEnvironmentResult' },
      dataField: { name: 'environment' },
    },
    resolve: (_root, { slug }, ctx) => inGraphQLTerms(ctx.environments.delete(ctx.caller, slug), []),
  }),
}));

const EnvironmentMatrixCell = builder.objectRef<MatrixRow['cells'][number]>('EnvironmentMatrixCell').implement({
  fields: (t) => ({
    environment: t.exposeString('environment'),
    version: t.int({ resolve: (cell) => cell.secret.version }),
    secret: t.field({ type: Secret, resolve: (cell) => cell.secret }),
    inheritedFrom: t.exposeString('inheritedFrom', { nullable: true, description: 'The environment it is inherited from; null: its own secret.' }),
    overridden: t.exposeBoolean('overridden', { description: "The caller's own personal override lies over it (only the caller's: no other key's is shown)." }),
  }),
});

const EnvironmentMatrixRow = builder.objectRef<MatrixRow>('EnvironmentMatrixRow').implement({
  description: 'One secret name across the environments that have it, own or inherited.',
  fields: (t) => ({
    name: t.exposeString('name'),
    cells: t.field({ type: [EnvironmentMatrixCell], resolve: (row) => [...row.cells] }),
    valuesEqual: t.exposeBoolean('valuesEqual', {
      nullable: true,
      description:
        'Whether the values are equal in every environment it lives in, compared on the server by keyed digests (no value is sent). Null without secrets:reveal, or where it lives in one environment.',
    }),
  }),
});

/** Names one matrix may be asked for by name (without names, every one: as many as the environments hold). */
const MATRIX_NAMES_MAX = 100;

builder.queryField('environmentMatrix', (t) =>
  t.field({
    type: [EnvironmentMatrixRow],
    description:
      'For each name (of `names`, or every one), the environments it exists in and its version there, in name order. Needs secrets:read; valuesEqual needs secrets:reveal.',
    args: {
      names: t.arg.stringList({
        description: `At most ${MATRIX_NAMES_MAX} names.`,
        validate: {
          schema: z
            .array(z.string().max(SECRET_NAME_MAX, `A name is at most ${SECRET_NAME_MAX} characters`))
            .max(MATRIX_NAMES_MAX, `At most ${MATRIX_NAMES_MAX} names`),
        },
      }),
    },
    resolve: (_root, { names }, ctx) => ctx.secrets.environmentMatrix(ctx.caller, names ?? undefined),
  }),
);

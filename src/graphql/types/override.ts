// Personal overrides and promotion: a key's own values over an environment's
// (seen by calls with that key only; no other key lists or reveals them, and
// the audit log records that they exist and are used), and moving a value up
// to the environment it inherits from.
import { ForbiddenError } from '../../auth/errors.ts';
import { ConflictError, NotFoundError } from '../../secrets/errors.ts';
import { z } from 'zod';
import type { PublicSecret } from '../../secrets/model.ts';
import { secretNameSchema, secretValueSchema, SECRET_VALUE_MAX } from '../../secrets/rules.ts';
import type { OverrideRecord } from '../../secrets/store.ts';
import { builder } from '../builder.ts';
import { InputValidationError, inGraphQLTerms } from '../validation-error.ts';
import { ENVIRONMENT_ARG, inEnvironment, Secret } from './secret.ts';

const Override = builder.objectRef<OverrideRecord>('Override').implement({
  description: "The caller's own value for a name of an environment: never its value here (revealSecret by name shows it, with source OVERRIDE).",
  fields: (t) => ({
    environment: t.exposeString('environment'),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const SetOverrideInput = builder.inputType('SetOverrideInput', {
  fields: (t) => ({
    environment: t.string(ENVIRONMENT_ARG),
    name: t.string({ required: true, description: 'A name the environment has, own or inherited.', validate: { schema: secretNameSchema } }),
    value: t.string({ required: true, description: `At most ${SECRET_VALUE_MAX} characters.`, validate: { schema: secretValueSchema } }),
  }),
});

const PromoteSecretInput = builder.inputType('PromoteSecretInput', {
  fields: (t) => ({
    environment: t.string(ENVIRONMENT_ARG),
    name: t.string({ required: true, validate: { schema: secretNameSchema } }),
    expectedVersion: t.int({
      required: true,
      description: "The parent's version of the name, as last seen (0: the parent has none yet): a write since makes it a ConflictError.",
      validate: { schema: z.number().int().min(0, 'expectedVersion must be at least 0') },
    }),
  }),
});

const PromoteSecretSuccess = builder.objectRef<{ secret: PublicSecret; from: 'own' | 'override' }>('PromoteSecretSuccess');

builder.queryField('overrides', (t) =>
  t.field({
    type: [Override],
    description: "The caller's own personal overrides in the environment, in name order (no other key's, whatever its scopes). Needs secrets:read.",
    args: { environment: t.arg.string(ENVIRONMENT_ARG) },
    resolve: (_root, { environment }, ctx) => ctx.secrets.overrides(inEnvironment(ctx, environment)),
  }),
);

builder.mutationFields((t) => ({
  setOverride: t.field({
    type: Override,
    description:
      "Sets the caller's own value for a name the environment has: calls made with this API key see it over everything else (source OVERRIDE); nobody else sees, lists or reveals it. Needs secrets:write; audited (never the value).",
    args: { input: t.arg({ type: SetOverrideInput, required: true }) },
    errors: {
      types: [InputValidationError, NotFoundError, ConflictError, ForbiddenError],
      result: { name: 'SetOverrideSuccess' },
      union: { name: 'SetOverrideResult' },
      dataField: { name: 'override' },
    },
    resolve: (_root, { input }, ctx) =>
      inGraphQLTerms(ctx.secrets.setOverride(inEnvironment(ctx, input.environment), { name: input.name, value: input.value }), ['input']),
  }),
  deleteOverride: t.field({
    type: 'Boolean',
    description: "Removes the caller's override: the name falls back to what the environment has (its own, else inherited). Needs secrets:write.",
    args: { environment: t.arg.string(ENVIRONMENT_ARG), name: t.arg.string({ required: true, validate: { schema: secretNameSchema } }) },
    errors: {
      types: [InputValidationError, NotFoundError, ForbiddenError],
      result: { name: 'DeleteOverrideSuccess' },
      union: { name: 'DeleteOverrideResult' },
      dataField: { name: 'deleted' },
    },
    resolve: (_root, { environment, name }, ctx) => ctx.secrets.deleteOverride(inEnvironment(ctx, environment), name),
  }),
  promoteSecret: t.field({
    type: PromoteSecretSuccess,
    description:
      "Moves the value the caller sees for a name (its override, else the environment's own secret) up to the parent environment, under compare-and-set against the parent's version; then the override, or the environment's own secret, is removed and the name is inherited. Needs secrets:write and secrets:reveal.",
    args: { input: t.arg({ type: PromoteSecretInput, required: true }) },
    errors: { types: [InputValidationError, NotFoundError, ConflictError, ForbiddenError], directResult: true, union: { name: 'PromoteSecretResult' } },
    resolve: (_root, { input }, ctx) =>
      inGraphQLTerms(ctx.secrets.promote(inEnvironment(ctx, input.environment), { name: input.name, expectedVersion: input.expectedVersion }), ['input']),
  }),
}));

PromoteSecretSuccess.implement({
  description: 'The secret in the parent environment, with the value promoted.',
  fields: (t) => ({
    secret: t.field({ type: Secret, resolve: (r) => r.secret }),
    from: t.string({ description: 'What was promoted: "override" or "own".', resolve: (r) => r.from }),
  }),
});

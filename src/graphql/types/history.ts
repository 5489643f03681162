// An environment as it was at any moment, what changed between two moments,
// and the way back to one: rebuilt from the versions and change events kept,
// answered as past what is kept (PastRetentionError) where they do not reach.
import { ForbiddenError } from '../../auth/errors.ts';
import { ConflictError, NotFoundError, PastRetentionError, UnreadableValueError } from '../../secrets/errors.ts';
import type { DiffEntry, EnvironmentAt, EnvironmentDiff, RestoreChange, RestoreResult, SecretAt } from '../../secrets/history.ts';
import { environmentSlugSchema, revealReasonSchema, snapshotNameSchema } from '../../secrets/rules.ts';
import type { SnapshotEntry, SnapshotRecord } from '../../secrets/store.ts';
import { builder } from '../builder.ts';
import { InputValidationError, inGraphQLTerms } from '../validation-error.ts';
import { inEnvironment } from './secret.ts';

const ENVIRONMENT = { required: true, description: 'The slug of the environment.', validate: { schema: environmentSlugSchema } } as const;

const SecretAtType = builder.objectRef<SecretAt & { value?: string }>('SecretAt').implement({
  description: 'A secret of an environment as it was at a moment.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name', { description: 'Its name then.' }),
    version: t.exposeInt('version', { description: 'The version current then.' }),
    versionCreatedAt: t.expose('versionCreatedAt', { type: 'DateTime', description: 'When that version was written.' }),
    value: t.string({ nullable: true, description: 'Its value then: only with reveal: true (secrets:reveal; audited).', resolve: (s) => s.value ?? null }),
  }),
});

const EnvironmentAtType = builder.objectRef<EnvironmentAt>('EnvironmentAt').implement({
  description: "An environment's own secrets as they were at a moment (what it inherited then is its parents' to answer).",
  fields: (t) => ({
    environment: t.exposeString('environment'),
    at: t.expose('at', { type: 'DateTime' }),
    secrets: t.field({ type: [SecretAtType], description: 'In name order.', resolve: (e) => [...e.secrets] }),
  }),
});

const DiffEntryType = builder.objectRef<DiffEntry>('EnvironmentDiffEntry').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    fromVersion: t.exposeInt('fromVersion', { nullable: true, description: 'Its version at `from` (null: it had none).' }),
    toVersion: t.exposeInt('toVersion', { nullable: true, description: 'Its version at `to` (null: it had none).' }),
  }),
});

const EnvironmentDiffType = builder.objectRef<EnvironmentDiff>('EnvironmentDiff').implement({
  description: 'The names an environment gained, changed (by version) and lost between two moments.',
  fields: (t) => ({
    environment: t.exposeString('environment'),
    from: t.expose('from', { type: 'DateTime' }),
    to: t.expose('to', { type: 'DateTime' }),
    added: t.field({ type: [DiffEntryType], resolve: (d) => [...d.added] }),
    changed: t.field({ type: [DiffEntryType], resolve: (d) => [...d.changed] }),
    removed: t.field({ type: [DiffEntryType], resolve: (d) => [...d.removed] }),
  }),
});

const RestoreAction = builder.enumType('RestoreAction', {
  values: {
    UPDATE: { value: 'update', description: "A new version with the moment's value (and its name then)." },
    RENAME: { value: 'rename', description: 'Its name then, its value unchanged.' },
    RESTORE: { value: 'restore', description: "Deleted since: brought back (with the moment's value)." },
    DELETE: { value: 'delete', description: 'Created (or restored) since: deleted, restorable as any deletion.' },
  } as const,
});

const RestoreChangeType = builder.objectRef<RestoreChange>('RestoreChange').implement({
  fields: (t) => ({
    secretId: t.exposeID('secretId'),
    action: t.field({ type: RestoreAction, resolve: (c) => c.action }),
    name: t.exposeString('name', { description: 'Its name at the moment restored to (one deleted: its name now).' }),
    previousName: t.exposeString('previousName', { nullable: true, description: 'Its name now, where that differs.' }),
    fromVersion: t.exposeInt('fromVersion', { nullable: true, description: 'Its version now (null: deleted now).' }),
    toVersion: t.exposeInt('toVersion', { nullable: true, description: 'The version of the moment whose value it gets (null: deleted).' }),
    newVersion: t.exposeInt('newVersion', { nullable: true, description: 'The version written (null: a dry run, or no new value).' }),
  }),
});

const RestoreEnvironmentSuccess = builder.objectRef<RestoreResult>('RestoreEnvironmentSuccess').implement({
  fields: (t) => ({
    environment: t.exposeString('environment'),
    to: t.expose('to', { type: 'DateTime' }),
    dryRun: t.exposeBoolean('dryRun'),
    changes: t.field({
      type: [RestoreChangeType],
      description: 'One per secret changed (or, in a dry run, to change), in name order.',
      resolve: (r) => [...r.changes],
    }),
  }),
});

const RestoreEnvironmentInput = builder.inputType('RestoreEnvironmentInput', {
  fields: (t) => ({
    environment: t.string(ENVIRONMENT),
    to: t.field({ type: 'DateTime', description: 'The moment to make the environment as it was; or give `snapshot`.' }),
    snapshot: t.id({ description: 'A snapshot of the environment to make it as it was then (its pinned versions); or give `to`.' }),
    dryRun: t.boolean({ description: 'List what would change and write nothing.', defaultValue: false }),
  }),
});

const SnapshotSecret = builder.objectRef<SnapshotEntry>('SnapshotSecret').implement({
  fields: (t) => ({
    id: t.exposeID('secretId'),
    name: t.exposeString('name'),
    version: t.exposeInt('version', { description: 'The version the snapshot pins.' }),
    versionCreatedAt: t.expose('versionCreatedAt', { type: 'DateTime' }),
  }),
});

const Snapshot = builder.objectRef<SnapshotRecord>('Snapshot').implement({
  description: "A named set of an environment's versions, taken at a moment and pinned: pruning keeps them until the snapshot is deleted.",
  fields: (t) => ({
    id: t.exposeID('id'),
    environment: t.exposeString('environment'),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdBy: t.exposeString('createdBy', { description: 'The API key that took it.' }),
    secrets: t.field({ type: [SnapshotSecret], description: 'In name order; never a value.', resolve: (s) => [...s.entries] }),
  }),
});

const CreateSnapshotInput = builder.inputType('CreateSnapshotInput', {
  fields: (t) => ({
    environment: t.string(ENVIRONMENT),
    name: t.string({ required: true, description: 'Unique in the environment; 1 to 100 characters.', validate: { schema: snapshotNameSchema } }),
  }),
});

const READ_ERRORS = [InputValidationError, PastRetentionError, NotFoundError, ForbiddenError] as const;

builder.queryFields((t) => ({
  environmentAt: t.field({
    type: EnvironmentAtType,
    description:
      "An environment's own secrets exactly as they were at `at`: names and versions (needs secrets:read), and with reveal: true their values then (secrets:reveal; each audited). Rebuilt from the versions and change events kept; further back is PastRetentionError, never a guess.",
    args: {
      environment: t.arg.string(ENVIRONMENT),
      at: t.arg({ type: 'DateTime', required: true }),
      reveal: t.arg.boolean({ defaultValue: false }),
      reason: t.arg.string({ description: 'Why values are revealed: stored in the audit events.', validate: { schema: revealReasonSchema } }),
    },
    errors: { types: [...READ_ERRORS, UnreadableValueError], directResult: true, union: { name: 'EnvironmentAtResult' } },
    resolve: (_root, { environment, at, reveal, reason }, ctx) =>
      inGraphQLTerms(ctx.secrets.environmentAt({ ...inEnvironment(ctx, environment), revealReason: reason ?? undefined }, at, { reveal: reveal ?? false }), []),
  }),
  environmentDiff: t.field({
    type: EnvironmentDiffType,
    description: 'The names added, changed (with their versions) and removed between two moments. Needs secrets:read.',
    args: {
      environment: t.arg.string(ENVIRONMENT),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
    },
    errors: { types: [...READ_ERRORS], directResult: true, union: { name: 'EnvironmentDiffResult' } },
    resolve: (_root, { environment, from, to }, ctx) => inGraphQLTerms(ctx.secrets.environmentDiff(inEnvironment(ctx, environment), from, to), []),
  }),
}));

builder.mutationField('restoreEnvironment', (t) =>
  t.field({
    type: RestoreEnvironmentSuccess,
    description:
      "Makes an environment's own secrets what they were at `to`: new versions with that moment's values, secrets deleted since brought back (within their recovery window), ones created since deleted. Every secret it touches is reserved at the version it read first, so a concurrent write is a ConflictError with nothing changed. One audit record and one change event per secret changed. Needs secrets:write.",
    args: { input: t.arg({ type: RestoreEnvironmentInput, required: true }) },
    errors: { types: [...READ_ERRORS, ConflictError, UnreadableValueError], directResult: true, union: { name: 'RestoreEnvironmentResult' } },
    resolve: (_root, { input }, ctx) => {
      if ((input.to == null) === (input.snapshot == null))
        throw new InputValidationError([{ path: ['input', 'to'], message: 'Give exactly one of to and snapshot' }]);
      const goal = input.snapshot != null ? { snapshot: String(input.snapshot) } : { to: input.to! };
      return inGraphQLTerms(ctx.secrets.restoreEnvironment(inEnvironment(ctx, input.environment), goal, { dryRun: input.dryRun ?? false }), ['input']);
    },
  }),
);

builder.queryField('snapshots', (t) =>
  t.field({
    type: [Snapshot],
    description: "The environment's snapshots, newest first. Needs secrets:read.",
    args: { environment: t.arg.string(ENVIRONMENT) },
    resolve: (_root, { environment }, ctx) => ctx.secrets.snapshots(inEnvironment(ctx, environment)),
  }),
);

builder.mutationFields((t) => ({
  createSnapshot: t.field({
    type: Snapshot,
    description:
      "Names the environment's own secrets at their current versions and pins those versions (pruning keeps them until the snapshot is deleted; a purge takes them), so that environmentAt and restoreEnvironment(snapshot:) reach them past SECRET_VERSIONS_KEPT. Needs secrets:write; audited.",
    args: { input: t.arg({ type: CreateSnapshotInput, required: true }) },
    errors: {
      types: [InputValidationError, NotFoundError, ConflictError, ForbiddenError],
      result: { name: 'CreateSnapshotSuccess' },
      union: { name: 'CreateSnapshotResult' },
      dataField: { name: 'snapshot' },
    },
    resolve: (_root, { input }, ctx) => inGraphQLTerms(ctx.secrets.createSnapshot(inEnvironment(ctx, input.environment), input.name), ['input']),
  }),
  deleteSnapshot: t.field({
    type: Snapshot,
    description: 'Deletes a snapshot: the versions it pinned are pruned as any others. Needs secrets:write; audited.',
    args: { id: t.arg.id({ required: true }) },
    errors: {
      types: [NotFoundError, ForbiddenError],
      result: { name: 'DeleteSnapshotSuccess' },
      union: { name: 'DeleteSnapshotResult' },
      dataField: { name: 'snapshot' },
    },
    resolve: (_root, { id }, ctx) => ctx.secrets.deleteSnapshot(ctx.caller, String(id)),
  }),
}));

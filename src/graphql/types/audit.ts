// The audit log, read through GraphQL: the caller's project only, newest first.
import { GraphQLError } from 'graphql';
import type { AuditEvent as AuditEventShape } from '../../audit/service.ts';
import { requireScope } from '../../auth/scopes.ts';
import { parseObjectId } from '../../db/errors.ts';
import { DOOR_NAMES } from '../../auth/caller.ts';
import { PAGE_SIZE_DEFAULT, pageSizeSchema } from '../../secrets/rules.ts';
import { builder } from '../builder.ts';
import { PageInfo } from './page-info.ts';

const AuditEvent = builder.objectRef<AuditEventShape>('AuditEvent').implement({
  description: 'One mutation or refused authentication. Never holds a value or a key.',
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.expose('at', { type: 'DateTime' }),
    keyId: t.exposeString('keyId', { nullable: true, description: 'The API key that acted (null when none was valid).' }),
    door: t.exposeString('door', {
      description: `${DOOR_NAMES.slice(0, -1).join(', ')} or ${DOOR_NAMES.at(-1)}; system for what the service did itself (an expiry).`,
    }),
    operation: t.exposeString('operation'),
    environment: t.exposeString('environment', {
      nullable: true,
      description: 'The environment acted in (null for refused authentications and events from before environments).',
    }),
    secretId: t.exposeID('secretId', { nullable: true }),
    secretName: t.exposeString('secretName', { nullable: true }),
    version: t.exposeInt('version', { nullable: true }),
    outcome: t.exposeString('outcome', {
      description: 'success, replayed, expired, or the kind of failure (not_found, conflict, version_mismatch, quota_exceeded, ...).',
    }),
    requestId: t.exposeString('requestId', { nullable: true }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why a value was revealed, as its caller said.' }),
  }),
});

const AuditEventEdge = builder.objectRef<AuditEventShape>('AuditEventEdge').implement({
  fields: (t) => ({
    cursor: t.exposeString('id'),
    node: t.field({ type: AuditEvent, resolve: (event) => event }),
  }),
});

const AuditEventConnection = builder.objectRef<{ events: AuditEventShape[]; hasNextPage: boolean }>('AuditEventConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [AuditEventEdge], resolve: (page) => page.events }),
    pageInfo: t.field({
      type: PageInfo,
      resolve: (page) => ({ hasNextPage: page.hasNextPage, endCursor: page.events.at(-1)?.id ?? null }),
    }),
  }),
});

builder.queryField('auditEvents', (t) =>
  t.field({
    type: AuditEventConnection,
    description:
      "The caller's project's audit log, newest first; optionally for one secret. A key bound to an environment sees that environment's events only.",
    args: {
      first: t.arg.int({ validate: { schema: pageSizeSchema } }),
      after: t.arg.string(),
      secretId: t.arg.id(),
    },
    resolve: (_root, args, ctx) => {
      requireScope(ctx.caller, 'secrets:read');
      if (args.after != null && !parseObjectId(args.after)) {
        throw new GraphQLError('Invalid cursor: pass an endCursor from an earlier page', { extensions: { code: 'BAD_USER_INPUT' } });
      }
      return ctx.audit.list(ctx.caller.projectId, {
        first: args.first ?? PAGE_SIZE_DEFAULT,
        after: args.after ?? undefined,
        secretId: args.secretId ?? undefined,
        environment: ctx.caller.boundEnvironment ?? undefined,
      });
    },
  }),
);

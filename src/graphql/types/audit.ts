// The audit log, read through GraphQL: the caller's project only, newest first.
import type { AuditEvent as AuditEventShape } from '../../audit/service.ts';
import { requireScope } from '../../auth/scopes.ts';
import { parseObjectId } from '../../db/errors.ts';
import { DOOR_NAMES } from '../../auth/caller.ts';
import { builder } from '../builder.ts';
import { badCursor, pageOf, pageSize } from '../pages.ts';
import { auditFilterSchema } from '../../secrets/rules.ts';

const ClaimValue = builder.objectRef<{ readonly claim: string; readonly value: string }>('ClaimValue').implement({
  description: "A token's claim, as a login's audit event records it.",
  fields: (t) => ({ claim: t.exposeString('claim'), value: t.exposeString('value') }),
});

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
    subject: t.exposeString('subject', { nullable: true, description: "A workload identity's login (login_oidc): the token's subject." }),
    claims: t.field({
      type: [ClaimValue],
      nullable: true,
      description: "A workload identity's login: the claims the identity asks for, with the values the token had. Never the token.",
      resolve: (event) => event.claims,
    }),
  }),
});

builder.queryField('auditEvents', (t) =>
  t.connection(
    {
      type: AuditEvent,
      description:
        "The caller's project's audit log, newest first; optionally for one secret. A key bound to an environment sees that environment's events only.",
      args: {
        secretId: t.arg.id(),
        keyId: t.arg.string({ description: "Only the events of this API key (an ApiKey's id).", validate: { schema: auditFilterSchema } }),
        operation: t.arg.string({ description: 'Only this operation (create, update, reveal, delete, ...).', validate: { schema: auditFilterSchema } }),
        outcome: t.arg.string({ description: 'Only this outcome (success, not_found, conflict, forbidden, ...).', validate: { schema: auditFilterSchema } }),
        since: t.arg({ type: 'DateTime', description: 'Only events at or after this time.' }),
        until: t.arg({ type: 'DateTime', description: 'Only events before this time.' }),
      },
      resolve: async (_root, args, ctx) => {
        requireScope(ctx.caller, 'secrets:read');
        if (args.after != null && !parseObjectId(args.after)) throw badCursor();
        const page = await ctx.audit.list(ctx.caller.projectId, {
          first: pageSize(args.first),
          after: args.after ?? undefined,
          secretId: args.secretId ?? undefined,
          keyId: args.keyId ?? undefined,
          operation: args.operation ?? undefined,
          outcome: args.outcome ?? undefined,
          since: args.since ?? undefined,
          until: args.until ?? undefined,
          environment: ctx.caller.boundEnvironment ?? undefined,
        });
        return pageOf(page.events, page.hasNextPage, (event) => event.id);
      },
    },
    { name: 'AuditEventConnection' },
    { name: 'AuditEventEdge' },
  ),
);

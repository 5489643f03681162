// Change events, live: `subscription { secretEvents }` over SSE (yoga serves
// subscriptions as text/event-stream). Never a value.
import { GraphQLError } from 'graphql';
import { ForbiddenError } from '../../auth/errors.ts';
import { requireScope } from '../../auth/scopes.ts';
import { SubscriberBehindError } from '../../events/hub.ts';
import { EVENT_TYPES, type SecretEvent as SecretEventShape, seqOfEventId } from '../../events/log.ts';
import { environmentSlugSchema } from '../../secrets/rules.ts';
import { Repeater } from 'graphql-yoga';
import { builder } from '../builder.ts';

/** How often a subscription's key is checked again (revocations show on a node within 2 s: the key cache). */
const KEY_RECHECK_MS = 2_000;

export const SecretEventType = builder.enumType('SecretEventType', {
  description: 'What a committed change did: a value (updated), a name (renamed), the other metadata (described), its life.',
  values: Object.fromEntries(EVENT_TYPES.map((type) => [type.toUpperCase(), { value: type }])) as Record<
    Uppercase<(typeof EVENT_TYPES)[number]>,
    { value: (typeof EVENT_TYPES)[number] }
  >,
});

const SecretEventSecret = builder.objectRef<SecretEventShape['secret']>('SecretEventSecret').implement({
  description: 'The secret a change was made to, as the change left it (its new name, its new version).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    version: t.exposeInt('version'),
  }),
});

export const SecretEvent = builder.objectRef<SecretEventShape>('SecretEvent').implement({
  description: 'One committed change of a secret. Never holds a value.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Pass it as `after` to resume from here.' }),
    type: t.field({ type: SecretEventType, resolve: (event) => event.type }),
    environment: t.exposeString('environment'),
    at: t.expose('at', { type: 'DateTime' }),
    actorKeyId: t.exposeString('actorKeyId', { nullable: true, description: 'The API key that made the change; null for an expiry.' }),
    secret: t.field({ type: SecretEventSecret, resolve: (event) => event.secret }),
    previousName: t.string({
      nullable: true,
      description: "The secret's name before this change, when the change renamed it (secret.name is the new one).",
      resolve: (event) => event.previousName ?? null,
    }),
  }),
});

builder.subscriptionType({});

builder.subscriptionField('secretEvents', (t) =>
  t.field({
    type: SecretEvent,
    description:
      "The project's change events as they happen (in one environment, with `environment`; a key bound to one sees that one), resumed after the event `after` with none missed and none twice. An environment's events include those of the environments it inherits from (as they were when the subscription began): their `environment` names where the change was made. Needs secrets:read.",
    args: {
      environment: t.arg.string({ validate: { schema: environmentSlugSchema } }),
      after: t.arg.string({ description: 'The id of the last event received.' }),
    },
    subscribe: async (_root, args, ctx) => {
      requireScope(ctx.caller, 'secrets:read');
      const bound = ctx.caller.boundEnvironment;
      if (bound !== null && args.environment != null && args.environment !== bound) {
        throw new ForbiddenError('environment', `This API key is bound to the environment "${bound}" and cannot see "${args.environment}"`);
      }
      const environment = args.environment ?? bound;
      let after: number | undefined;
      if (args.after != null) {
        after = seqOfEventId(ctx.caller.projectId, args.after);
        if (after === undefined)
          throw new GraphQLError('Invalid cursor: pass the id of an event this project sent', { extensions: { code: 'BAD_USER_INPUT' } });
      }
      // A change in a parent is one in each child that inherits from it: a child's subscriber sees its parents' events too.
      const lineage = environment === null ? null : new Set((await ctx.secrets.inheritance.placed(ctx.caller, environment)).lineage);
      const events = ctx.hub.subscribe(ctx.caller.projectId, {
        keyId: ctx.caller.keyId,
        after,
        accept: (event) => lineage === null || lineage.has(event.environment),
      });
      // The key is asked about again every KEY_RECHECK_MS: revoked or expired, the stream ends with an error.
      return new Repeater<SecretEventShape>(async (push, stop) => {
        const check = setInterval(() => {
          ctx
            .stillValid()
            .catch(() => stop(new GraphQLError('The API key was revoked or has expired: the subscription ended', { extensions: { code: 'UNAUTHENTICATED' } })));
        }, KEY_RECHECK_MS);
        void (async () => {
          for await (const event of events) await push(event);
        })().catch((err: Error) =>
          stop(err instanceof SubscriberBehindError ? new GraphQLError(err.message, { extensions: { code: 'SUBSCRIPTION_BEHIND' } }) : err),
        );
        await stop;
        clearInterval(check);
        await events.return?.();
      });
    },
    resolve: (event) => event,
  }),
);

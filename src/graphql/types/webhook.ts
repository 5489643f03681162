// Webhooks: a project's change events POSTed to a URL, signed (Standard
// Webhooks). Needs webhooks:manage (or keys:manage).
import { z } from 'zod';
import { ForbiddenError } from '../../auth/errors.ts';
import type { EventType } from '../../events/log.ts';
import { ConflictError, NotFoundError } from '../../secrets/errors.ts';
import { environmentSlugSchema } from '../../secrets/rules.ts';
import type { WebhookDeliveryInfo, WebhookInfo } from '../../webhooks/service.ts';
import { builder } from '../builder.ts';
import { InputValidationError, inGraphQLTerms } from '../validation-error.ts';
import { SecretEventType } from './event.ts';
import { pageOf, pageSize } from '../pages.ts';

const Webhook = builder.objectRef<WebhookInfo>('Webhook').implement({
  description: "Where the project's change events are sent. Its signing secret is shown only when it is created.",
  fields: (t) => ({
    id: t.exposeID('id'),
    url: t.exposeString('url'),
    events: t.field({ type: [SecretEventType], description: 'The event types it gets; empty: all.', resolve: (hook) => hook.events }),
    environment: t.exposeString('environment', { nullable: true, description: 'The environment whose events it gets; null: all.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const WebhookDeliveryStatus = builder.enumType('WebhookDeliveryStatus', {
  values: {
    PENDING: { value: 'pending' },
    DELIVERED: { value: 'delivered' },
    FAILED: { value: 'failed', description: 'Given up: no 2xx within 24 h of retries.' },
  },
});

const WebhookDelivery = builder.objectRef<WebhookDeliveryInfo>('WebhookDelivery').implement({
  description: 'One event sent to a webhook: its webhook-id header, and how its attempts went.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The webhook-id header: the same on every attempt.' }),
    eventId: t.exposeString('eventId'),
    eventType: t.field({ type: SecretEventType, resolve: (d) => d.eventType as EventType }),
    status: t.field({ type: WebhookDeliveryStatus, resolve: (d) => d.status }),
    attempts: t.exposeInt('attempts'),
    lastResponseCode: t.exposeInt('lastResponseCode', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why the last attempt failed (no answer, refused address, the status answered).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastAttemptAt: t.expose('lastAttemptAt', { type: 'DateTime', nullable: true }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreateWebhookSuccess = builder.objectRef<{ webhook: WebhookInfo; signingSecret: string }>('CreateWebhookSuccess').implement({
  fields: (t) => ({
    webhook: t.field({ type: Webhook, resolve: (result) => result.webhook }),
    signingSecret: t.exposeString('signingSecret', { description: 'whsec_…: verifies webhook-signature (Standard Webhooks). Shown this once.' }),
  }),
});

const CreateWebhookInput = builder.inputType('CreateWebhookInput', {
  fields: (t) => ({
    url: t.string({ required: true, validate: { schema: z.string().max(2048, 'The URL must be at most 2048 characters') } }),
    events: t.field({ type: [SecretEventType], description: 'The event types to send; absent or empty: all.' }),
    environment: t.string({ description: "Only this environment's events; absent: all (a bound key: its own).", validate: { schema: environmentSlugSchema } }),
  }),
});

builder.queryFields((t) => ({
  webhooks: t.field({
    type: [Webhook],
    description: "The project's webhooks (needs webhooks:manage or keys:manage).",
    resolve: (_root, _args, ctx) => ctx.webhooks.list(ctx.caller),
  }),
  webhookDeliveries: t.connection(
    {
      type: WebhookDelivery,
      description: "A webhook's deliveries, newest event first (needs webhooks:manage or keys:manage).",
      args: { id: t.arg.id({ required: true }) },
      errors: { types: [InputValidationError, NotFoundError, ForbiddenError], directResult: true, union: { name: 'WebhookDeliveriesResult' } },
      resolve: async (_root, args, ctx) => {
        const page = await inGraphQLTerms(ctx.webhooks.deliveries(ctx.caller, args.id, { first: pageSize(args.first), after: args.after ?? undefined }), []);
        return pageOf(page.deliveries, page.hasNextPage, (delivery) => delivery.id);
      },
    },
    { name: 'WebhookDeliveryConnection' },
    { name: 'WebhookDeliveryEdge' },
  ),
}));

builder.mutationFields((t) => ({
  createWebhook: t.field({
    type: CreateWebhookSuccess,
    description:
      'Sends the change events from now on to `url` (needs webhooks:manage or keys:manage). Addresses inside the network are refused unless WEBHOOK_ALLOWED_HOSTS names them.',
    args: { input: t.arg({ type: CreateWebhookInput, required: true }) },
    errors: { types: [InputValidationError, ConflictError, ForbiddenError], directResult: true, union: { name: 'CreateWebhookResult' } },
    resolve: (_root, { input }, ctx) =>
      inGraphQLTerms(ctx.webhooks.create(ctx.caller, { url: input.url, events: input.events ?? [], environment: input.environment ?? null }), ['input']),
  }),
  deleteWebhook: t.field({
    type: Webhook,
    description: 'Deletes a webhook: nothing more is sent to it (needs webhooks:manage or keys:manage).',
    args: { id: t.arg.id({ required: true }) },
    errors: {
      types: [NotFoundError, ForbiddenError],
      result: { name: 'DeleteWebhookSuccess' },
      union: { name: 'DeleteWebhookResult' },
      dataField: { name: 'webhook' },
    },
    resolve: (_root, { id }, ctx) => ctx.webhooks.delete(ctx.caller, id),
  }),
}));

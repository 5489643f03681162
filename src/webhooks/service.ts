// A project's webhooks, managed with webhooks:manage (or keys:manage): create
// (its signing secret is shown once), list, delete, and the deliveries made.
// The dispatcher (dispatcher.ts) sends them.
import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import type { Caller } from '../auth/caller.ts';
import { ForbiddenError } from '../auth/errors.ts';
import { type MasterKeyring, sealValue } from '../crypto/envelope.ts';
import { parseObjectId } from '../db/errors.ts';
import type { Models } from '../db/models/index.ts';
import type { WebhookDeliveryDoc, WebhookDoc } from '../db/models/webhook.ts';
import { type EventLog, type EventType, seqOfEventId } from '../events/log.ts';
import { DEFAULT_LIMITS } from '../config.ts';
import { InvalidFieldError, NotFoundError, ProjectLimitError } from '../secrets/errors.ts';
import { checkDestination, DestinationRefusedError, type DestinationPolicy, parseDestination } from '../net/destination.ts';

export interface WebhookInfo {
  readonly id: string;
  readonly url: string;
  readonly events: EventType[];
  readonly environment: string | null;
  readonly createdAt: Date;
}

export interface WebhookDeliveryInfo {
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly status: WebhookDeliveryDoc['status'];
  readonly attempts: number;
  readonly lastResponseCode: number | null;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly lastAttemptAt: Date | null;
  readonly nextAttemptAt: Date | null;
  readonly deliveredAt: Date | null;
}

/** What the signing secret is sealed under: one context per webhook. */
export const secretContextOf = (webhook: { projectId: Types.ObjectId; _id: Types.ObjectId }) => ({
  projectId: webhook.projectId.toHexString(),
  secretId: `webhook:${webhook._id.toHexString()}`,
  version: 0,
});

const infoOf = (doc: WebhookDoc): WebhookInfo => ({
  id: doc._id.toHexString(),
  url: doc.url,
  events: doc.events as EventType[],
  environment: doc.environment,
  createdAt: doc.createdAt,
});

const deliveryInfoOf = (doc: WebhookDeliveryDoc): WebhookDeliveryInfo => ({
  id: doc._id,
  eventId: doc.eventId,
  eventType: doc.eventType,
  status: doc.status,
  attempts: doc.attempts,
  lastResponseCode: doc.lastResponseCode,
  lastError: doc.lastError,
  createdAt: doc.createdAt,
  lastAttemptAt: doc.lastAttemptAt,
  nextAttemptAt: doc.nextAttemptAt,
  deliveredAt: doc.deliveredAt,
});

function requireManage(caller: Caller): void {
  if (!caller.scopes.includes('webhooks:manage') && !caller.scopes.includes('keys:manage')) throw new ForbiddenError('webhooks:manage');
}

export function createWebhookService(deps: {
  models: Pick<Models, 'Webhook' | 'WebhookDelivery'>;
  keyring: MasterKeyring;
  log: EventLog;
  policy: DestinationPolicy;
  now?: () => Date;
  /** Webhooks per project (default: DEFAULT_LIMITS'). */
  limit?: number;
}) {
  const webhooks = deps.models.Webhook.collection as unknown as import('mongodb').Collection<WebhookDoc>;
  const deliveries = deps.models.WebhookDelivery.collection as unknown as import('mongodb').Collection<WebhookDeliveryDoc>;
  const now = deps.now ?? (() => new Date());

  /** The caller's webhook `id`: a key bound to an environment sees that environment's alone. */
  async function owned(caller: Caller, id: string): Promise<WebhookDoc> {
    const _id = parseObjectId(id);
    const doc = _id && (await webhooks.findOne({ _id, projectId: new Types.ObjectId(caller.projectId) }));
    if (!doc || (caller.boundEnvironment !== null && doc.environment !== caller.boundEnvironment)) throw new NotFoundError('No such webhook in this project');
    return doc;
  }

  return {
    /** Creates a webhook for the events from now on; returns it and its signing secret (shown this once). */
    async create(
      caller: Caller,
      input: { url: string; events: readonly EventType[]; environment: string | null },
    ): Promise<{ webhook: WebhookInfo; signingSecret: string }> {
      requireManage(caller);
      const bound = caller.boundEnvironment;
      if (bound !== null && input.environment !== null && input.environment !== bound) {
        throw new ForbiddenError('environment', `This API key is bound to the environment "${bound}" and cannot watch "${input.environment}"`);
      }
      let url: URL;
      try {
        url = parseDestination(input.url);
        await checkDestination(url, deps.policy);
      } catch (err) {
        if (err instanceof DestinationRefusedError) throw new InvalidFieldError('url', err.message);
        throw err;
      }
      // Checked before the insert (concurrent creates may pass together): it bounds each event's fan-out.
      const limit = deps.limit ?? DEFAULT_LIMITS.webhooksPerProject;
      if ((await webhooks.countDocuments({ projectId: new Types.ObjectId(caller.projectId) })) >= limit)
        throw new ProjectLimitError('webhooks', limit, 'WEBHOOKS_PER_PROJECT_MAX');
      const signingSecret = `whsec_${randomBytes(32).toString('base64')}`;
      const _id = new Types.ObjectId();
      const projectId = new Types.ObjectId(caller.projectId);
      const doc: WebhookDoc = {
        _id,
        projectId,
        url: url.toString(),
        events: [...new Set(input.events)],
        environment: input.environment ?? bound,
        secret: sealValue(deps.keyring, signingSecret, secretContextOf({ projectId, _id })),
        createdAt: now(),
        createdBy: caller.keyId,
        cursor: await deps.log.newest(caller.projectId),
      };
      await webhooks.insertOne(doc);
      return { webhook: infoOf(doc), signingSecret };
    },

    async list(caller: Caller): Promise<WebhookInfo[]> {
      requireManage(caller);
      const filter: Record<string, unknown> = { projectId: new Types.ObjectId(caller.projectId) };
      if (caller.boundEnvironment !== null) filter.environment = caller.boundEnvironment;
      return (await webhooks.find(filter).sort({ _id: 1 }).toArray()).map(infoOf);
    },

    /** Deletes a webhook; nothing more is sent to it, pending deliveries included. */
    async delete(caller: Caller, id: string): Promise<WebhookInfo> {
      requireManage(caller);
      const doc = await owned(caller, id);
      await webhooks.deleteOne({ _id: doc._id });
      await deliveries.deleteMany({ webhookId: doc._id });
      return infoOf(doc);
    },

    /** A webhook's deliveries, newest event first, `first` of them after the delivery `after`. */
    async deliveries(caller: Caller, id: string, page: { first: number; after?: string | undefined }) {
      requireManage(caller);
      const doc = await owned(caller, id);
      const filter: Record<string, unknown> = { webhookId: doc._id };
      if (page.after !== undefined) {
        // A delivery's id is numbered under its webhook as an event's is under its project.
        const seq = seqOfEventId(doc._id.toHexString(), page.after);
        if (seq === undefined) throw new InvalidFieldError('after', 'Invalid cursor: pass an endCursor from an earlier page');
        filter.seq = { $lt: seq };
      }
      const docs = await deliveries
        .find(filter)
        .sort({ seq: -1 })
        .limit(page.first + 1)
        .toArray();
      return { deliveries: docs.slice(0, page.first).map(deliveryInfoOf), hasNextPage: docs.length > page.first };
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;

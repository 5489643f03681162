// Sends webhooks, on every node, at least once each, signed as the Standard
// Webhooks specification says (webhook-id, webhook-timestamp,
// webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">).
//
// Every tick (1 s): each webhook's new events (read from the event log by
// _id, from the webhook's cursor) become deliveries, "<webhookId>:<seq>", one
// per event whichever node inserts it first; then the deliveries due are
// attempted. Attempt n of a delivery is sent by the node whose insert of
// "<deliveryId>#<n>" lands (the database decides, not a clock); a node that
// stopped mid-attempt leaves its claim, which another counts as a lost
// attempt after a minute. Everything is in the database: a restart loses
// nothing. A failed attempt is retried with exponential backoff for 24 h;
// 10 s per attempt; redirects are not followed (they count as failures).
import http from 'node:http';
import https from 'node:https';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import type { Collection } from 'mongodb';
import { type MasterKeyring, openValue } from '../crypto/envelope.ts';
import { isDuplicateKeyError } from '../db/errors.ts';
import type { Models } from '../db/models/index.ts';
import { sealedBytesOf } from '../db/models/secret-version.ts';
import type { WebhookDeliveryDoc, WebhookDoc } from '../db/models/webhook.ts';
import { eventIdOf, type EventLog, type SecretEvent } from '../events/log.ts';
import { checkAddressHost, type DestinationPolicy, guardedLookup } from '../net/destination.ts';
import { requestErrorOf } from '../net/get-json.ts';
import { secretContextOf } from './service.ts';

export interface DispatchTiming {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** The wait after the first failed attempt; it doubles after each, up to retryMaxMs. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** How long after its event a delivery is still tried. */
  readonly retryWindowMs: number;
  /** A claimed attempt with no outcome after this long was lost with its node. */
  readonly lostAttemptMs: number;
}

export const DEFAULT_DISPATCH_TIMING: DispatchTiming = {
  intervalMs: 1_000,
  timeoutMs: 10_000,
  retryBaseMs: 5_000,
  retryMaxMs: 2 * 3600_000,
  retryWindowMs: 24 * 3600_000,
  lostAttemptMs: 60_000,
};

/** Deliveries attempted per tick, at once. */
const DUE_PER_TICK = 50;
/** Events turned into deliveries per webhook per tick. */
const EVENTS_PER_TICK = 200;

/** The body of a delivery: the event under the specification's envelope. Names and ids, never a value. */
export function payloadOf(event: SecretEvent): string {
  return JSON.stringify({
    type: `secret.${event.type}`,
    timestamp: event.at.toISOString(),
    data: {
      id: event.id,
      type: event.type,
      projectId: event.projectId,
      environment: event.environment,
      at: event.at.toISOString(),
      actorKeyId: event.actorKeyId,
      secret: event.secret,
      ...(event.previousName === undefined ? {} : { previousName: event.previousName }),
    },
  });
}

/** Whether a webhook is sent an event: of a type it asks for, in its environment or one that environment inherits from (`lineage`). */
const wants = (hook: WebhookDoc, event: SecretEvent, lineage: ReadonlySet<string>) =>
  (hook.events.length === 0 || hook.events.includes(event.type)) && (hook.environment === null || lineage.has(event.environment));

interface Outcome {
  readonly status?: number;
  readonly error?: string;
}

export function createWebhookDispatcher(deps: {
  models: Pick<Models, 'Webhook' | 'WebhookDelivery' | 'WebhookAttempt'>;
  keyring: MasterKeyring;
  log: EventLog;
  policy: DestinationPolicy;
  timing?: Partial<DispatchTiming>;
  now?: () => Date;
  onError?: (err: Error) => void;
  /** An environment and those it inherits from, nearest first (null: it is gone); absent: none inherits. */
  lineageOf?: (projectId: string, environment: string) => Promise<readonly string[] | null>;
}) {
  const timing = { ...DEFAULT_DISPATCH_TIMING, ...deps.timing };
  const now = deps.now ?? (() => new Date());
  const webhooks = deps.models.Webhook.collection as unknown as Collection<WebhookDoc>;
  const deliveries = deps.models.WebhookDelivery.collection as unknown as Collection<WebhookDeliveryDoc>;
  const attempts = deps.models.WebhookAttempt.collection as unknown as Collection<{ _id: string; at: Date }>;
  const lookup = guardedLookup(deps.policy);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  /** Turns a webhook's events past its cursor into deliveries, and moves the cursor. */
  async function enqueue(hook: WebhookDoc): Promise<void> {
    const projectId = hook.projectId.toHexString();
    let cursor = hook.cursor;
    // A parent's change is its heirs' too: read once per tick, and only when an event comes from elsewhere.
    let lineage: ReadonlySet<string> = new Set(hook.environment === null ? [] : [hook.environment]);
    let lineageRead = false;
    for (let n = 0; n < EVENTS_PER_TICK; n++) {
      const event = await deps.log.at(projectId, cursor + 1);
      if (!event) break;
      if (hook.environment !== null && !lineage.has(event.environment) && !lineageRead && deps.lineageOf) {
        lineageRead = true;
        lineage = new Set((await deps.lineageOf(projectId, hook.environment)) ?? [hook.environment]);
      }
      if (wants(hook, event, lineage)) {
        const doc: WebhookDeliveryDoc = {
          _id: eventIdOf(hook._id.toHexString(), event.seq),
          webhookId: hook._id,
          projectId: hook.projectId,
          eventId: event.id,
          seq: event.seq,
          eventType: event.type,
          payload: payloadOf(event),
          status: 'pending',
          attempts: 0,
          lastResponseCode: null,
          lastError: null,
          createdAt: now(),
          nextAttemptAt: now(),
          lastAttemptAt: null,
          deliveredAt: null,
        };
        // Another node made it first: one delivery all the same.
        await deliveries.insertOne(doc).catch((err: unknown) => {
          if (!isDuplicateKeyError(err)) throw err;
        });
      }
      cursor = event.seq;
    }
    if (cursor > hook.cursor) await webhooks.updateOne({ _id: hook._id }, { $max: { cursor } });
  }

  function send(url: URL, headers: Record<string, string>, body: string): Promise<Outcome> {
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      const req = client.request(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          lookup: lookup as never,
          signal: AbortSignal.timeout(timing.timeoutMs),
        },
        (res) => {
          // The body is not read for anything: only drained, so that the socket is freed.
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
          res.on('error', () => resolve({ status: res.statusCode ?? 0 }));
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: requestErrorOf(err, timing.timeoutMs) }));
      req.end(body);
    });
  }

  async function attempt(delivery: WebhookDeliveryDoc, hooks: Map<string, WebhookDoc>): Promise<void> {
    const n = delivery.attempts + 1;
    try {
      await attempts.insertOne({ _id: `${delivery._id}#${n}`, at: now() });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      // Another node has this attempt; if it never finished, it was lost with that node.
      const claim = await attempts.findOne({ _id: `${delivery._id}#${n}` });
      if (claim && now().getTime() - claim.at.getTime() > timing.lostAttemptMs) {
        await deliveries.updateOne(
          { _id: delivery._id, attempts: delivery.attempts },
          { $set: { attempts: n, lastError: 'attempt lost: its node stopped', nextAttemptAt: now() } },
        );
      }
      return;
    }
    const hook = hooks.get(delivery.webhookId.toHexString()) ?? (await webhooks.findOne({ _id: delivery.webhookId }));
    if (!hook) {
      await deliveries.deleteOne({ _id: delivery._id });
      return;
    }
    const sentAt = now();
    const secret = openValue(deps.keyring, sealedBytesOf(hook.secret), secretContextOf(hook));
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'secrets-service-webhooks/1',
      'webhook-id': delivery._id,
      'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
      'webhook-signature': new StandardWebhook(secret).sign(delivery._id, sentAt, delivery.payload),
    };
    const url = new URL(hook.url);
    // A name is checked by the connection's own lookup (guardedLookup); an address here.
    let outcome: Outcome;
    try {
      checkAddressHost(url, deps.policy);
      outcome = await send(url, headers, delivery.payload);
    } catch (err) {
      outcome = { error: (err as Error).message };
    }
    const at = now();
    const delivered = outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300;
    const retryAt = new Date(at.getTime() + Math.min(timing.retryBaseMs * 2 ** (n - 1), timing.retryMaxMs));
    const givesUp = !delivered && retryAt.getTime() - delivery.createdAt.getTime() > timing.retryWindowMs;
    await deliveries.updateOne(
      { _id: delivery._id },
      {
        $set: {
          attempts: n,
          status: delivered ? 'delivered' : givesUp ? 'failed' : 'pending',
          lastResponseCode: outcome.status ?? null,
          lastError: delivered ? null : (outcome.error ?? `answered ${outcome.status}`),
          lastAttemptAt: at,
          nextAttemptAt: delivered || givesUp ? null : retryAt,
          deliveredAt: delivered ? at : null,
        },
      },
    );
  }

  async function tick(): Promise<void> {
    const hooks = await webhooks.find({}).toArray();
    for (const hook of hooks) await enqueue(hook);
    if (hooks.length === 0) return;
    const due = await deliveries
      .find({ status: 'pending', nextAttemptAt: { $lte: now() } })
      .limit(DUE_PER_TICK)
      .toArray();
    const byId = new Map(hooks.map((hook) => [hook._id.toHexString(), hook]));
    await Promise.all(due.map((delivery) => attempt(delivery, byId).catch((err: Error) => deps.onError?.(err))));
  }

  function runTick(): Promise<void> {
    running ??= tick()
      .catch((err: Error) => deps.onError?.(err))
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  return {
    start() {
      timer ??= setInterval(() => void runTick(), timing.intervalMs);
      timer.unref();
    },
    /** Stops ticking; resolves when the tick under way has ended. */
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
    /** One pass now (tests, and a node that wants to catch up at once). */
    tick: runTick,
    /** Forgets finished deliveries and attempt claims older than `retentionMs`. */
    async sweep(retentionMs: number): Promise<void> {
      const before = new Date(now().getTime() - retentionMs);
      await deliveries.deleteMany({ status: { $in: ['delivered', 'failed'] }, createdAt: { $lt: before } });
      await attempts.deleteMany({ at: { $lt: before } });
    },
  };
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>;

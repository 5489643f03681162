import { type Connection, Schema, type Types } from 'mongoose';
import type { StoredBytes } from './secret-version.ts';

// Webhooks: where a project's change events are sent, signed with a secret
// that is stored sealed under the master key (it must be read to sign).
const webhookSchema = new Schema(
  {
    projectId: { type: Schema.Types.ObjectId, required: true },
    url: { type: String, required: true },
    /** Event types it wants; empty: every type. */
    events: { type: [String], default: [] },
    /** The environment whose events it gets; null: every environment. */
    environment: { type: String, default: null },
    secret: {
      keyId: { type: String, required: true },
      wrappedKey: { type: Buffer, required: true },
      ciphertext: { type: Buffer, required: true },
    },
    createdAt: { type: Date, required: true },
    createdBy: { type: String, required: true },
    /** The number of the last event of its project turned into deliveries (or skipped). */
    cursor: { type: Number, required: true },
  },
  { collection: 'webhooks', versionKey: false, autoIndex: false },
);
webhookSchema.index({ projectId: 1 });

export interface WebhookDoc {
  _id: Types.ObjectId;
  projectId: Types.ObjectId;
  url: string;
  events: string[];
  environment: string | null;
  secret: { keyId: string; wrappedKey: StoredBytes; ciphertext: StoredBytes };
  createdAt: Date;
  createdBy: string;
  cursor: number;
}

// One message to one webhook: _id "<webhookId>:<seq>", so that two nodes
// that both see an event make one delivery of it (the insert decides).
const webhookDeliverySchema = new Schema(
  {
    _id: { type: String, required: true },
    webhookId: { type: Schema.Types.ObjectId, required: true },
    projectId: { type: Schema.Types.ObjectId, required: true },
    eventId: { type: String, required: true },
    seq: { type: Number, required: true },
    eventType: { type: String, required: true },
    /** The JSON body sent, the same on every attempt (names and ids, never a value). */
    payload: { type: String, required: true },
    /** pending, delivered or failed (gave up after the retry window). */
    status: { type: String, required: true },
    attempts: { type: Number, required: true },
    lastResponseCode: { type: Number, default: null },
    lastError: { type: String, default: null },
    createdAt: { type: Date, required: true },
    nextAttemptAt: { type: Date, default: null },
    lastAttemptAt: { type: Date, default: null },
    deliveredAt: { type: Date, default: null },
  },
  { collection: 'webhook_deliveries', versionKey: false, autoIndex: false },
);
webhookDeliverySchema.index({ status: 1, nextAttemptAt: 1 });
webhookDeliverySchema.index({ webhookId: 1, seq: -1 });

export interface WebhookDeliveryDoc {
  _id: string;
  webhookId: Types.ObjectId;
  projectId: Types.ObjectId;
  eventId: string;
  seq: number;
  eventType: string;
  payload: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastResponseCode: number | null;
  lastError: string | null;
  createdAt: Date;
  nextAttemptAt: Date | null;
  lastAttemptAt: Date | null;
  deliveredAt: Date | null;
}

// Who sends attempt n of a delivery: _id "<deliveryId>#<n>", inserted before
// sending; the node whose insert lands sends it, the others leave it.
const webhookAttemptSchema = new Schema(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { collection: 'webhook_attempts', versionKey: false, autoIndex: false },
);
webhookAttemptSchema.index({ at: 1 });

export function webhookModels(connection: Connection) {
  return {
    Webhook: connection.model('Webhook', webhookSchema),
    WebhookDelivery: connection.model('WebhookDelivery', webhookDeliverySchema),
    WebhookAttempt: connection.model('WebhookAttempt', webhookAttemptSchema),
  };
}

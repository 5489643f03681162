import { type Connection, type InferSchemaType, Schema } from 'mongoose';

// Idempotency-Key records, per project, under the _id "<projectId>/<key>":
// its insert decides which of two racing requests with one key does the
// work, and finding a record is a lookup by _id.
const idempotencyKeySchema = new Schema(
  {
    _id: { type: String, required: true },
    projectId: { type: Schema.Types.ObjectId, required: true },
    key: { type: String, required: true },
    /**
     * HMAC-SHA256 of the request (door, operation and body), keyed from a
     * master key: equal requests match, and the stored digest cannot be
     * brute-forced back into a value without that key.
     */
    fingerprint: { type: String, required: true },
    /** The master key the fingerprint was made with. */
    keyId: { type: String, required: true },
    state: { type: String, enum: ['pending', 'done'], required: true },
    /** The first result: HTTP-ish status and the public secret (never a value). */
    status: { type: Number, default: null },
    secret: { type: Schema.Types.Mixed, default: null },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'idempotency_keys', versionKey: false, autoIndex: false },
);
// FerretDB has no TTL indexes: expired records are deleted explicitly.
idempotencyKeySchema.index({ expiresAt: 1 });

export type IdempotencyKeyDoc = InferSchemaType<typeof idempotencyKeySchema>;

export function idempotencyKeyModel(connection: Connection) {
  return connection.model('IdempotencyKey', idempotencyKeySchema);
}

import { type Connection, type InferSchemaType, Schema, type Types } from 'mongoose';

const apiKeySchema = new Schema(
  {
    projectId: { type: Schema.Types.ObjectId, required: true },
    name: { type: String, required: true },
    /** SHA-256 (hex) of the whole key: the only form in which a key is kept. */
    hash: { type: String, required: true },
    /** The first characters of the key, to recognise it in a list. */
    prefix: { type: String, required: true },
    /** Absent on keys made before scopes existed: those have every scope. */
    scopes: { type: [String], default: undefined },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, default: null },
    revokedAt: { type: Date, default: null },
    lastUsedAt: { type: Date, default: null },
    /** The key that minted this one; null for admin-made and dev keys. Revoking it revokes this. */
    createdByKeyId: { type: Schema.Types.ObjectId, default: null },
    /** The environment the key is bound to: it sees no other. Null: unbound (the doors act on "default"). */
    environment: { type: String, default: null },
    /** Its reveals must say why (X-Reveal-Reason, reason:, --reason); the reason goes into the audit event. */
    requireRevealReason: { type: Boolean, default: false },
    /** It has set a personal override: its reads look for them (a key that never set one reads none). */
    overrides: { type: Boolean, default: false },
    /** The workload identity whose login issued it (null: made by a key or the admin route). Deleting the identity revokes it. */
    identityId: { type: Schema.Types.ObjectId, default: null },
  },
  { collection: 'api_keys', versionKey: false, autoIndex: false },
);
apiKeySchema.index({ hash: 1 }, { unique: true });
apiKeySchema.index({ projectId: 1, createdAt: 1 });
// Revocation follows the keys a key minted.
apiKeySchema.index({ createdByKeyId: 1 });
// An identity's deletion revokes its keys; the sweep forgets those long expired.
apiKeySchema.index({ identityId: 1, expiresAt: 1 });

export type ApiKeyDoc = InferSchemaType<typeof apiKeySchema> & { _id: Types.ObjectId };

export function apiKeyModel(connection: Connection) {
  return connection.model('ApiKey', apiKeySchema);
}

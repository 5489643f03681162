import { type Connection, type InferSchemaType, Schema, type Types } from 'mongoose';

// A secret's metadata, and the sealed form of its current value (a copy of
// its current version's, so that reading a secret and its value is one lookup
// by _id). Values exist only sealed: no read of this collection can carry one.
const secretSchema = new Schema(
  {
    projectId: { type: Schema.Types.ObjectId, required: true },
    /** The environment's slug. Absent on documents from before environments: those are in "default". */
    environment: { type: String, default: 'default' },
    name: { type: String, required: true },
    /** The current value version, 1 on creation. */
    version: { type: Number, required: true },
    description: { type: String, default: null },
    /** Which provider the secret is for (v1 user-secrets door); free text. */
    provider: { type: String, default: null },
    /** Id of the API key that created the secret, and of the one that last changed it. */
    createdBy: { type: String, required: true },
    lastUpdatedBy: { type: String, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    /** Set when deleted: the secret is in its recovery window until purgeAt, then purged. */
    deletedAt: { type: Date, default: null },
    purgeAt: { type: Date, default: null },
    /** When the secret expires (it is then gone, as if deleted at that instant); null: never. */
    expiresAt: { type: Date, default: null },
    /** The lifetime the expiry was set from (Together's TTL); a value change restarts it. */
    ttlSeconds: { type: Number, default: null },
    /**
     * Live: "<namespace>/<name>" and "<namespace>/<slot>" (slot: one of the
     * environment's PROJECT_SECRET_LIMIT quota slots; the namespace is the
     * projectId in "default", "<projectId>:<environment>" in any other, so
     * that keys made before environments stay valid). Deleted: "deleted/<id>" in
     * both. Under unique indexes, they make the write that brings a secret to
     * life or renames it the one that decides its name and its slot.
     */
    nameKey: { type: String, required: true },
    slot: { type: Number, default: null },
    slotKey: { type: String, required: true },
    /** The sealed current value: the version document's keyId, wrappedKey and ciphertext for `version`. */
    current: {
      type: new Schema({ keyId: String, wrappedKey: Buffer, ciphertext: Buffer }, { _id: false }),
      default: undefined,
    },
  },
  { collection: 'secrets', versionKey: false, autoIndex: false },
);
// Listing in name order. Not unique: deleted secrets keep their names.
secretSchema.index({ projectId: 1, environment: 1, name: 1 });
// One live secret per name and per quota slot, decided by the database. Both
// lead with projectId, so that the collection can be sharded on it: MongoDB
// enforces a unique index on a sharded collection only when the shard key
// is its prefix (see the README's sharding plan).
secretSchema.index({ projectId: 1, nameKey: 1 }, { unique: true });
secretSchema.index({ projectId: 1, slotKey: 1 }, { unique: true });
// The purge sweep: deleted secrets whose window has passed.
secretSchema.index({ purgeAt: 1 });
// The expiry sweep: live secrets whose expiry has passed (FerretDB has no TTL indexes, and expired
// secrets must become restorable deleted ones, not vanish).
secretSchema.index({ expiresAt: 1 });

export type SecretDoc = InferSchemaType<typeof secretSchema> & { _id: Types.ObjectId };

export function secretModel(connection: Connection) {
  return connection.model('Secret', secretSchema);
}

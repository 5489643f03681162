import { type Connection, type InferSchemaType, Schema, type Types } from 'mongoose';

// One immutable document per value version, sealed with envelope encryption.
// The unique (secretId, version) index decides which writer claims a version:
// an insert under a unique index is the one race-safe primitive on both
// MongoDB and FerretDB (which has neither transactions nor atomic
// conditional updates).
const secretVersionSchema = new Schema(
  {
    projectId: { type: Schema.Types.ObjectId, required: true },
    secretId: { type: Schema.Types.ObjectId, required: true },
    version: { type: Number, required: true },
    /** Id of the master key that wrapped the data key. */
    keyId: { type: String, required: true },
    wrappedKey: { type: Buffer, required: true, select: false },
    ciphertext: { type: Buffer, required: true, select: false },
    createdAt: { type: Date, required: true },
    /** Id of the API key that wrote this version. */
    createdBy: { type: String, required: true },
  },
  { collection: 'secret_versions', versionKey: false, autoIndex: false },
);
secretVersionSchema.index({ secretId: 1, version: -1 }, { unique: true });

export type SecretVersionDoc = InferSchemaType<typeof secretVersionSchema> & { _id: Types.ObjectId };

export function secretVersionModel(connection: Connection) {
  return connection.model('SecretVersion', secretVersionSchema);
}

/** A version document as the driver returns it (Buffer fields come back as BSON Binary). */
export interface StoredSecretVersion {
  _id: Types.ObjectId;
  projectId: Types.ObjectId;
  secretId: Types.ObjectId;
  version: number;
  keyId: string;
  wrappedKey: { buffer: Uint8Array };
  ciphertext: { buffer: Uint8Array };
}

/** The sealed value of a stored version, and the context its seals are bound to. */
export function sealedOf(v: StoredSecretVersion) {
  return {
    sealed: { keyId: v.keyId, wrappedKey: Buffer.from(v.wrappedKey.buffer), ciphertext: Buffer.from(v.ciphertext.buffer) },
    context: { projectId: v.projectId.toHexString(), secretId: v.secretId.toHexString(), version: v.version },
  };
}

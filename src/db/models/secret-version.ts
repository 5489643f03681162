import { type Connection, type InferSchemaType, Schema, type Types } from 'mongoose';

// One immutable document per value version, sealed with envelope encryption,
// under the _id "<secretId>:<version>": the insert of that _id decides which
// writer claims a version (an insert under a unique key is the one race-safe
// primitive on both MongoDB and FerretDB, which has neither transactions nor
// atomic conditional updates), and reading a version is a lookup by _id, the
// one query FerretDB hands to SQLite.
const secretVersionSchema = new Schema(
  {
    _id: { type: String, required: true },
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
// Listing a secret's versions, newest first, and forgetting them all with it.
secretVersionSchema.index({ secretId: 1, version: -1 }, { name: 'secretId_1_version_-1_list' });

export type SecretVersionDoc = InferSchemaType<typeof secretVersionSchema>;

/** The _id of a secret's version. */
export const versionIdOf = (secretId: Types.ObjectId | string, version: number) =>
  `${typeof secretId === 'string' ? secretId : secretId.toHexString()}:${version}`;

export function secretVersionModel(connection: Connection) {
  return connection.model('SecretVersion', secretVersionSchema);
}

/** A version document as the driver returns it (Buffer fields come back as BSON Binary). */
export interface StoredSecretVersion {
  _id: string;
  projectId: Types.ObjectId;
  secretId: Types.ObjectId;
  version: number;
  keyId: string;
  wrappedKey: StoredBytes;
  ciphertext: StoredBytes;
}

/** Bytes as the driver returns them (BSON Binary), or as this node wrote them (a Buffer). */
export type StoredBytes = Buffer | { buffer: Uint8Array };
const bytesOf = (b: StoredBytes) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer));

/** A sealed value as stored (a version's, a webhook's signing secret, a key check), with Buffers to open it. */
export const sealedBytesOf = (stored: { keyId: string; wrappedKey: StoredBytes; ciphertext: StoredBytes }) => ({
  keyId: stored.keyId,
  wrappedKey: bytesOf(stored.wrappedKey),
  ciphertext: bytesOf(stored.ciphertext),
});

/** The sealed value of a stored version, and the context its seals are bound to. */
export function sealedOf(v: StoredSecretVersion) {
  return {
    sealed: sealedBytesOf(v),
    context: { projectId: v.projectId.toHexString(), secretId: v.secretId.toHexString(), version: v.version },
  };
}

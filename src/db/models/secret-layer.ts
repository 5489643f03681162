import { type Connection, Schema, type Types } from 'mongoose';

// What lies over an environment's own secrets and what it inherits.
//
// A tombstone: a name an environment hides from its parents, written when a
// secret it inherited the name over is deleted in it. _id
// "<projectId>/<slug>/<name>": one per name, the insert decides.
const tombstoneSchema = new Schema(
  {
    _id: { type: String, required: true },
    projectId: { type: Schema.Types.ObjectId, required: true },
    environment: { type: String, required: true },
    name: { type: String, required: true },
    at: { type: Date, required: true },
    by: { type: String, required: true },
  },
  { collection: 'secret_tombstones', versionKey: false, autoIndex: false },
);
tombstoneSchema.index({ projectId: 1, environment: 1 });

export interface TombstoneDoc {
  _id: string;
  projectId: Types.ObjectId;
  environment: string;
  name: string;
  at: Date;
  by: string;
}

// A personal override: one API key's own value for a name of an environment,
// sealed like a version (its context's secretId is the override's sealId, new
// with every value). _id "<projectId>/<slug>/<keyId>/<name>".
const overrideSchema = new Schema(
  {
    _id: { type: String, required: true },
    projectId: { type: Schema.Types.ObjectId, required: true },
    environment: { type: String, required: true },
    owner: { type: String, required: true },
    name: { type: String, required: true },
    sealId: { type: String, required: true },
    keyId: { type: String, required: true },
    wrappedKey: { type: Buffer, required: true },
    ciphertext: { type: Buffer, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'secret_overrides', versionKey: false, autoIndex: false },
);
overrideSchema.index({ projectId: 1, owner: 1, environment: 1 });
// Master-key rotation finds them by the key that wraps their data key.
overrideSchema.index({ keyId: 1 });

export function secretLayerModels(connection: Connection) {
  return {
    SecretTombstone: connection.model('SecretTombstone', tombstoneSchema),
    SecretOverride: connection.model('SecretOverride', overrideSchema),
  };
}

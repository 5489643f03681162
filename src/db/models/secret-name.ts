import { type Connection, Schema } from 'mongoose';

// Where a name points: "<namespace>/<name>" (a secret's nameKey) to the secret
// that took it, so that a read by name is two lookups by _id. Not what decides
// who holds a name (the unique nameKey of the secret document does): a read
// that finds it missing or pointing at a secret that no longer holds the name
// looks the name up by its key, and repairs it.
const secretNameSchema = new Schema(
  {
    _id: { type: String, required: true },
    secretId: { type: Schema.Types.ObjectId, required: true },
  },
  { collection: 'secret_names', versionKey: false, autoIndex: false },
);

export interface SecretNameDoc {
  _id: string;
  secretId: import('mongoose').Types.ObjectId;
}

export function secretNameModel(connection: Connection) {
  return connection.model('SecretName', secretNameSchema);
}

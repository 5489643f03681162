import { type Connection, Schema } from 'mongoose';

// What becomes of a deleted secret: restored or purged, never both. Each
// deletion of a secret (its deletedAt) has one fate, and whoever inserts the
// fate's document first (under its _id, "<secretId>:<deletedAt ms>") decides
// it: a restore and a concurrent purge cannot both proceed, on FerretDB
// (no transactions, no atomic conditional update) as on MongoDB.
const secretFateSchema = new Schema(
  {
    _id: { type: String, required: true },
    secretId: { type: Schema.Types.ObjectId, required: true },
    action: { type: String, enum: ['restore', 'purge'], required: true },
    /** Which request holds it: a holder that lost it (taken over as abandoned) must not report success. */
    owner: { type: String, required: true },
    /** When it was taken, by its taker's clock: only to tell an abandoned one, never for correctness. */
    at: { type: Date, required: true },
  },
  { collection: 'secret_fates', versionKey: false, autoIndex: false },
);
// A purge forgets the fates of its secret.
secretFateSchema.index({ secretId: 1 });

export function secretFateModel(connection: Connection) {
  return connection.model('SecretFate', secretFateSchema);
}

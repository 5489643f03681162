import { type Connection, type InferSchemaType, Schema, type Types } from 'mongoose';

// A secret's metadata. Its value lives only in sealed form in secret_versions,
// so no read of this collection can ever carry a value.
const secretSchema = new Schema(
  {
    projectId: { type: Schema.Types.ObjectId, required: true },
    name: { type: String, required: true },
    /** The current value version, 1 on creation. */
    version: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'secrets', versionKey: false, autoIndex: false },
);
// Decides name races: of two creates of one name, the second insert fails with 11000.
// Also serves lookups by name and listing in name order.
secretSchema.index({ projectId: 1, name: 1 }, { unique: true });

export type SecretDoc = InferSchemaType<typeof secretSchema> & { _id: Types.ObjectId };

export function secretModel(connection: Connection) {
  return connection.model('Secret', secretSchema);
}

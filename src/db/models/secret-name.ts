import { type Connection, type InferSchemaType, Schema, type Types } from 'mongoose';

// Name claims: which secret holds which name in a project. The unique
// (projectId, name) index here decides every race for a name, creates and
// renames alike. A rename cannot be decided by updating the secret's own name
// under a unique index: FerretDB answers such a violating update with a
// generic InternalError, not 11000, and neither engine lets the old and the new
// name be checked in one step. So a rename inserts the new claim first (an
// insert under a unique index decides races on both engines), then switches
// the secret, then drops the old claim.
const secretNameSchema = new Schema(
  {
    projectId: { type: Schema.Types.ObjectId, required: true },
    name: { type: String, required: true },
    secretId: { type: Schema.Types.ObjectId, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'secret_names', versionKey: false, autoIndex: false },
);
secretNameSchema.index({ projectId: 1, name: 1 }, { unique: true });
secretNameSchema.index({ secretId: 1 });

export type SecretNameDoc = InferSchemaType<typeof secretNameSchema> & { _id: Types.ObjectId };

export function secretNameModel(connection: Connection) {
  return connection.model('SecretName', secretNameSchema);
}

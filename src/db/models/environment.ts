import { type Connection, type InferSchemaType, Schema } from 'mongoose';

// A project's environments other than "default" (which every project has, and
// which gets a document only once renamed). The _id, "<projectId>/<slug>",
// makes the insert of a taken slug the write the database refuses.
const environmentSchema = new Schema(
  {
    _id: { type: String, required: true },
    projectId: { type: Schema.Types.ObjectId, required: true },
    slug: { type: String, required: true },
    name: { type: String, required: true },
    createdAt: { type: Date, required: true },
    /** The slug of the environment it inherits from; null: none. */
    parent: { type: String, default: null },
    /** Set while a delete checks that the environment is empty: creates that see it undo themselves. */
    closingSince: { type: Date, default: null },
  },
  { collection: 'environments', versionKey: false, autoIndex: false },
);
environmentSchema.index({ projectId: 1, slug: 1 });

export type EnvironmentDoc = InferSchemaType<typeof environmentSchema>;

export function environmentModel(connection: Connection) {
  return connection.model('Environment', environmentSchema);
}

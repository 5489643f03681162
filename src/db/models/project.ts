import { type Connection, type InferSchemaType, Schema, type Types } from 'mongoose';

const projectSchema = new Schema(
  {
    name: { type: String, required: true },
    /** The development project that an embedded engine's start-up makes sure of. */
    dev: { type: Boolean, default: false },
    createdAt: { type: Date, required: true },
  },
  { collection: 'projects', versionKey: false, autoIndex: false },
);
projectSchema.index({ dev: 1 });

export type ProjectDoc = InferSchemaType<typeof projectSchema> & { _id: Types.ObjectId };

export function projectModel(connection: Connection) {
  return connection.model('Project', projectSchema);
}

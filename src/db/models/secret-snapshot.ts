import { type Connection, Schema, type Types } from 'mongoose';

// A named snapshot of an environment: the versions its secrets had when it
// was taken. The unique (projectId, environment, name) decides which of two
// snapshots of one name is made. The values it pins are copies of their
// version documents in secret_versions, under "<secretId>:<version>@<snapshotId>"
// with `pin` set: master-key rotation re-wraps them with every other version,
// a purge of their secret takes them with it, and pruning never looks at them.
const snapshotSchema = new Schema(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    projectId: { type: Schema.Types.ObjectId, required: true },
    environment: { type: String, required: true },
    name: { type: String, required: true },
    createdAt: { type: Date, required: true },
    createdBy: { type: String, required: true },
    entries: [{ _id: false, secretId: Schema.Types.ObjectId, name: String, version: Number, versionCreatedAt: Date }],
  },
  { collection: 'secret_snapshots', versionKey: false, autoIndex: false },
);
snapshotSchema.index({ projectId: 1, environment: 1, name: 1 }, { unique: true });

export interface SnapshotDoc {
  _id: Types.ObjectId;
  projectId: Types.ObjectId;
  environment: string;
  name: string;
  createdAt: Date;
  createdBy: string;
  entries: { secretId: Types.ObjectId; name: string; version: number; versionCreatedAt: Date }[];
}

/** The _id of a version's copy that a snapshot pins. */
export const pinIdOf = (secretId: string, version: number, snapshotId: string) => `${secretId}:${version}@${snapshotId}`;

export function secretSnapshotModel(connection: Connection) {
  return connection.model('SecretSnapshot', snapshotSchema);
}

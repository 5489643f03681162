import { type Connection, Schema, type Types } from 'mongoose';

// Change events: one per committed change of a secret, never a value. _id is
// "<projectId>:<seq>", seq counting 1, 2, 3… per project with no gap: the
// insert of that _id decides which change gets a number (both engines hold a
// unique _id), and a node asks for seq n only once it knows n - 1 exists.
// Followers read the next event by _id, a lookup on both engines.
// Each project's head (secret_event_heads, _id: the project's id) holds a
// number whose event exists, every number after it up to the newest exists
// too, and the retention sweep keeps it: a node that knows nothing of a
// project starts from it and probes forward by _id.
const secretEventSchema = new Schema(
  {
    _id: { type: String, required: true },
    projectId: { type: Schema.Types.ObjectId, required: true },
    seq: { type: Number, required: true },
    type: { type: String, required: true },
    environment: { type: String, required: true },
    secretId: { type: Schema.Types.ObjectId, required: true },
    secretName: { type: String, required: true },
    // The name before a change that renamed it (absent: the name stayed).
    previousName: { type: String },
    version: { type: Number, required: true },
    at: { type: Date, required: true },
    actorKeyId: { type: String, default: null },
  },
  { collection: 'secret_events', versionKey: false, autoIndex: false },
);
// The sweep's newest number of a project that has no head yet (events written before heads were).
secretEventSchema.index({ projectId: 1, seq: -1 });
// The retention sweep.
secretEventSchema.index({ at: 1 });
// An environment's past: its events after a moment.
secretEventSchema.index({ projectId: 1, environment: 1, at: 1 });

export interface SecretEventDoc {
  _id: string;
  projectId: Types.ObjectId;
  seq: number;
  type: string;
  environment: string;
  secretId: Types.ObjectId;
  secretName: string;
  previousName?: string;
  version: number;
  at: Date;
  actorKeyId: string | null;
}

export function secretEventModel(connection: Connection) {
  return connection.model('SecretEvent', secretEventSchema);
}

const secretEventHeadSchema = new Schema(
  {
    _id: { type: String, required: true },
    seq: { type: Number, required: true },
  },
  { collection: 'secret_event_heads', versionKey: false, autoIndex: false },
);

export interface SecretEventHeadDoc {
  /** The project's id. */
  _id: string;
  seq: number;
}

export function secretEventHeadModel(connection: Connection) {
  return connection.model('SecretEventHead', secretEventHeadSchema);
}

import { type Connection, type InferSchemaType, Schema, type Types } from 'mongoose';

// The audit log: one document per mutation and per failed authentication.
// It names who, what and how it ended; never a value or a key.
const auditEventSchema = new Schema(
  {
    at: { type: Date, required: true },
    /** Absent when the caller could not be authenticated. */
    projectId: { type: Schema.Types.ObjectId, default: null },
    keyId: { type: String, default: null },
    door: { type: String, required: true },
    /** The environment acted in (null: none, or from before environments). */
    environment: { type: String, default: null },
    operation: { type: String, required: true },
    secretId: { type: Schema.Types.ObjectId, default: null },
    secretName: { type: String, default: null },
    version: { type: Number, default: null },
    /** success, or the kind of failure: not_found, conflict, quota, precondition, unauthenticated, ... */
    outcome: { type: String, required: true },
    requestId: { type: String, default: null },
    /** Why a reveal was made, as its caller said (a key with requireRevealReason must say). */
    reason: { type: String, default: null },
    /** Refused authentications: the client's address, and how many it had in the record's minute. */
    clientAddress: { type: String, default: null },
    count: { type: Number, default: null },
    /** A workload identity's login: the token's subject and the claims matched, with their values (never the token). */
    subject: { type: String, default: null },
    claims: { type: [{ _id: false, claim: String, value: String }], default: undefined },
  },
  { collection: 'audit_events', versionKey: false, autoIndex: false },
);
// Newest first per project, optionally for one secret; _id (an ObjectId) orders events in time.
auditEventSchema.index({ projectId: 1, _id: -1 });
auditEventSchema.index({ projectId: 1, secretId: 1, _id: -1 });
// A key bound to an environment pages its environment's events only.
auditEventSchema.index({ projectId: 1, environment: 1, _id: -1 });
// The retention sweep.
auditEventSchema.index({ at: 1 });

export type AuditEventDoc = InferSchemaType<typeof auditEventSchema> & { _id: Types.ObjectId };

export function auditEventModel(connection: Connection) {
  return connection.model('AuditEvent', auditEventSchema);
}

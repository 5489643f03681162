import { type Connection, Schema, type Types } from 'mongoose';

// Workload identities: which tokens of which OpenID issuer may sign in to a
// project, and as what. A login answers a short-lived API key (api_keys, with
// identityId set); deleting the identity revokes every key it issued.
const identitySchema = new Schema(
  {
    projectId: { type: Schema.Types.ObjectId, required: true },
    name: { type: String, required: true },
    /** The issuer's URL, as its tokens' `iss` says it exactly. */
    issuer: { type: String, required: true },
    /** A token's `aud` must hold one of these. */
    audiences: { type: [String], required: true },
    /** What its `sub` must be: exact, or a glob where `*` stands for any run of characters. */
    subject: { type: String, required: true },
    /** Further claims it must carry, each exact or a glob (a name starting with / is a JSON pointer). */
    claims: { type: [{ _id: false, claim: { type: String, required: true }, pattern: { type: String, required: true } }], default: [] },
    /** The environment its keys are bound to; null: unbound. */
    environment: { type: String, default: null },
    scopes: { type: [String], required: true },
    /** Its keys' longest life; never past the token's own expiry. */
    maxTtlSeconds: { type: Number, required: true },
    /** Its keys must give reasons for reveals (as the key that made it must). */
    requireRevealReason: { type: Boolean, default: false },
    createdAt: { type: Date, required: true },
    /** The key that made it: revoked, no more logins (and the keys it issued go with it). */
    createdByKeyId: { type: Schema.Types.ObjectId, default: null },
  },
  { collection: 'identities', versionKey: false, autoIndex: false },
);
identitySchema.index({ projectId: 1, name: 1 }, { unique: true });

export interface IdentityDoc {
  _id: Types.ObjectId;
  projectId: Types.ObjectId;
  name: string;
  issuer: string;
  audiences: string[];
  subject: string;
  claims: { claim: string; pattern: string }[];
  environment: string | null;
  scopes: string[];
  maxTtlSeconds: number;
  requireRevealReason: boolean;
  createdAt: Date;
  createdByKeyId: Types.ObjectId | null;
}

export function identityModel(connection: Connection) {
  return connection.model('Identity', identitySchema);
}

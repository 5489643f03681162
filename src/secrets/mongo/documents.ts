// The documents of the MongoDB secret store as it reads them, and the small
// pure helpers every part of it shares (records, filters, namespaces).
import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import type { SecretDoc } from '../../db/models/secret.ts';
import { sealedBytesOf, type StoredSecretVersion } from '../../db/models/secret-version.ts';
import { retiredKeyOf } from './keys.ts';
import { DEFAULT_ENVIRONMENT, type Namespace, type SealedVersion, type SecretRecord } from '../store.ts';

/** A secret with an expiry (past, where it is used). */
export type ExpiredSecret = HeadDoc & { expiresAt: Date };
/** A deleted secret, as its fate is decided. */
export type DeletedSecret = HeadDoc & { deletedAt: Date };
/** A sealed value as stored. */
export type SealedFields = Pick<StoredSecretVersion, 'keyId' | 'wrappedKey' | 'ciphertext'>;
/** The secret document as read: with the sealed current value, when not projected out. */
export type HeadDoc = Omit<SecretDoc, 'current'> & { current?: SealedFields | null };
/** Lists leave the sealed value out: they return no value, and it is most of a document. */
export const WITHOUT_VALUE = { projection: { current: 0 } };

export interface FateDoc {
  _id: string;
  secretId: Types.ObjectId;
  action: 'restore' | 'purge';
  owner: string;
  at: Date;
}

/** How often a write retries when other writers keep taking what it wanted. */
export const ATTEMPTS = 20;

/** A secret document as a record, without its sealed value. */
export function plainRecordOf(doc: HeadDoc): SecretRecord {
  return {
    id: doc._id.toHexString(),
    projectId: doc.projectId.toHexString(),
    environment: doc.environment ?? DEFAULT_ENVIRONMENT,
    name: doc.name,
    version: doc.version,
    description: doc.description ?? null,
    provider: doc.provider ?? null,
    createdBy: doc.createdBy,
    lastUpdatedBy: doc.lastUpdatedBy,
    createdAt: new Date(doc.createdAt),
    updatedAt: new Date(doc.updatedAt),
    deletedAt: doc.deletedAt ? new Date(doc.deletedAt) : null,
    expiresAt: doc.expiresAt ? new Date(doc.expiresAt) : null,
    ttlSeconds: doc.ttlSeconds ?? null,
    purgeAt: doc.purgeAt ? new Date(doc.purgeAt) : null,
  };
}

/** The sealed current value a secret document carries. */
export function currentOf(doc: HeadDoc): SealedVersion | null {
  if (!doc.current) return null;
  return { context: { projectId: doc.projectId.toHexString(), secretId: doc._id.toHexString(), version: doc.version }, sealed: sealedBytesOf(doc.current) };
}

/** Still marked live, but past its expiry: due to become a deleted secret. */
export function isExpired<T extends Pick<HeadDoc, 'deletedAt' | 'expiresAt'>>(doc: T, at: Date): doc is T & { expiresAt: Date } {
  return doc.deletedAt == null && doc.expiresAt != null && doc.expiresAt.getTime() <= at.getTime();
}

/** The query filter of live secrets at `at` (see isLive). */
export function liveFilter(at: Date) {
  return { deletedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: at } }] };
}

export const oid = (id: string) => new Types.ObjectId(id);

/** The filter of a namespace's secrets: "default" holds those from before environments too, which name none. */
export const inNamespace = (ns: Namespace) => ({
  projectId: oid(ns.projectId),
  environment: ns.environment === DEFAULT_ENVIRONMENT ? { $in: [DEFAULT_ENVIRONMENT, null] } : ns.environment,
});
export const namespaceOfRecord = (secret: { projectId: string; environment: string }): Namespace => ({
  projectId: secret.projectId,
  environment: secret.environment,
});
export const namespaceOfDoc = (doc: Pick<HeadDoc, 'projectId' | 'environment'>): Namespace => ({
  projectId: doc.projectId.toHexString(),
  environment: doc.environment ?? DEFAULT_ENVIRONMENT,
});

/** New secret ids are random, not time-ordered: secret_versions, sharded on secretId, then spreads its inserts over every shard. */
export const newSecretId = () => new Types.ObjectId(randomBytes(12));

/** The keys of a secret that is not live: its own, so they collide with nothing. */
export const retiredKeys = (secretId: Types.ObjectId) => ({
  nameKey: retiredKeyOf(secretId.toHexString()),
  slotKey: retiredKeyOf(secretId.toHexString()),
  slot: null,
});

// Envelope encryption of secret values, with node:crypto's AES-256-GCM only.
//
// Each stored value version gets its own random 256-bit data key. The value is
// sealed under that data key, and the data key is sealed ("wrapped") under a
// master key whose id is stored beside it, so that a master key can later be
// rotated by re-wrapping data keys without touching the values.
//
// Both seals carry additional authenticated data naming the project, secret id
// and version: a sealed document copied onto another secret, project or
// version fails to open instead of yielding someone else's value.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const NONCE_BYTES = 12; // 96 bits: GCM's native nonce size
const TAG_BYTES = 16; // 128-bit tag

export interface MasterKeyring {
  /** The id new data keys are wrapped under. */
  readonly activeId: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

/** Where a sealed value belongs; bound into both seals as AAD. */
export interface ValueContext {
  readonly projectId: string;
  readonly secretId: string;
  readonly version: number;
}

export interface SealedValue {
  /** Id of the master key that wrapped the data key. */
  readonly keyId: string;
  /** nonce | encrypted data key | tag */
  readonly wrappedKey: Buffer;
  /** nonce | encrypted value | tag */
  readonly ciphertext: Buffer;
}

/** Opening failed: wrong key, wrong context, or tampered bytes. Carries no detail on purpose. */
export class DecryptionError extends Error {
  override name = 'DecryptionError';
  constructor() {
    super('Sealed value could not be opened');
  }
}

export function createKeyring(activeId: string, keys: Iterable<readonly [string, Buffer]>): MasterKeyring {
  const map = new Map<string, Buffer>(keys);
  for (const [id, key] of map) {
    if (key.length !== KEY_BYTES) throw new Error(`Master key "${id}" must be ${KEY_BYTES} bytes`);
  }
  if (!map.has(activeId)) throw new Error(`Active master key "${activeId}" is not in the keyring`);
  return Object.freeze({ activeId, keys: map });
}

export function generateKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

function aad(purpose: 'value' | 'data-key', ctx: ValueContext): Buffer {
  // JSON of an array: unambiguous whatever the ids contain.
  return Buffer.from(JSON.stringify(['secrets-service/v1', purpose, ctx.projectId, ctx.secretId, ctx.version]));
}

function seal(key: Buffer, plaintext: Buffer, additionalData: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

function open(key: Buffer, packed: Buffer, additionalData: Buffer): Buffer {
  if (packed.length < NONCE_BYTES + TAG_BYTES) throw new DecryptionError();
  const nonce = packed.subarray(0, NONCE_BYTES);
  const tag = packed.subarray(packed.length - TAG_BYTES);
  const body = packed.subarray(NONCE_BYTES, packed.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new DecryptionError();
  }
}

export function sealValue(ring: MasterKeyring, value: string, ctx: ValueContext): SealedValue {
  const masterKey = ring.keys.get(ring.activeId)!;
  const dataKey = generateKey();
  try {
    return {
      keyId: ring.activeId,
      wrappedKey: seal(masterKey, dataKey, aad('data-key', ctx)),
      ciphertext: seal(dataKey, Buffer.from(value, 'utf8'), aad('value', ctx)),
    };
  } finally {
    dataKey.fill(0);
  }
}

export function openValue(ring: MasterKeyring, sealed: SealedValue, ctx: ValueContext): string {
  const masterKey = ring.keys.get(sealed.keyId);
  if (!masterKey) throw new DecryptionError();
  const dataKey = open(masterKey, sealed.wrappedKey, aad('data-key', ctx));
  try {
    const plain = open(dataKey, sealed.ciphertext, aad('value', ctx));
    try {
      return plain.toString('utf8');
    } finally {
      plain.fill(0);
    }
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Re-wraps a sealed value's data key under the ring's active master key. The
 * value itself is not re-encrypted (the point of envelope encryption) and
 * never leaves this function; only the data key is opened, then wiped.
 */
export function rewrapDataKey(ring: MasterKeyring, sealed: SealedValue, ctx: ValueContext): SealedValue {
  const oldKey = ring.keys.get(sealed.keyId);
  if (!oldKey) throw new DecryptionError();
  const dataKey = open(oldKey, sealed.wrappedKey, aad('data-key', ctx));
  try {
    return {
      keyId: ring.activeId,
      wrappedKey: seal(ring.keys.get(ring.activeId)!, dataKey, aad('data-key', ctx)),
      ciphertext: sealed.ciphertext,
    };
  } finally {
    dataKey.fill(0);
  }
}

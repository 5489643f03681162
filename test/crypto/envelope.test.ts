// Unit tests of the envelope: pure functions, no database.
import { describe, expect, it } from 'vitest';
import { createKeyring, DecryptionError, generateKey, openValue, type SealedValue, sealValue } from '../../src/crypto/envelope.ts';

const ring = createKeyring('k1', [['k1', generateKey()]]);
const ctx = { projectId: 'p'.repeat(24), secretId: 's'.repeat(24), version: 1 };

function flip(buf: Buffer, index: number): Buffer {
  const copy = Buffer.from(buf);
  const i = index < 0 ? copy.length + index : index;
  copy[i] = copy[i]! ^ 0x01;
  return copy;
}

describe('sealValue / openValue', () => {
  it('round-trips any value, Unicode included', () => {
    for (const value of ['x', 'sk-live-1234567890', 'ünïcødé 🔑 秘密', 'v'.repeat(10_000)]) {
      expect(openValue(ring, sealValue(ring, value, ctx), ctx)).toBe(value);
    }
  });

  it('records the active master key id and never stores the value or the data key in clear', () => {
    const sealed = sealValue(ring, 'plain-marker-value', ctx);
    expect(sealed.keyId).toBe('k1');
    expect(sealed.ciphertext.includes(Buffer.from('plain-marker-value'))).toBe(false);
    // nonce (12) + encrypted data key (32) + tag (16)
    expect(sealed.wrappedKey).toHaveLength(60);
    expect(sealed.ciphertext).toHaveLength(12 + 'plain-marker-value'.length + 16);
  });

  it('uses a fresh data key and nonce every time', () => {
    const a = sealValue(ring, 'same', ctx);
    const b = sealValue(ring, 'same', ctx);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(a.wrappedKey.equals(b.wrappedKey)).toBe(false);
    expect(a.ciphertext.subarray(0, 12).equals(b.ciphertext.subarray(0, 12))).toBe(false);
  });

  const sealed = sealValue(ring, 'tamper-me', ctx);
  const tampered: [string, SealedValue][] = [
    ['ciphertext body', { ...sealed, ciphertext: flip(sealed.ciphertext, 14) }],
    ['value tag', { ...sealed, ciphertext: flip(sealed.ciphertext, -1) }],
    ['value nonce', { ...sealed, ciphertext: flip(sealed.ciphertext, 0) }],
    ['wrapped data key', { ...sealed, wrappedKey: flip(sealed.wrappedKey, 20) }],
    ['wrapped key tag', { ...sealed, wrappedKey: flip(sealed.wrappedKey, -1) }],
    ['wrapped key nonce', { ...sealed, wrappedKey: flip(sealed.wrappedKey, 3) }],
    ['truncated ciphertext', { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 20) }],
    ['empty ciphertext', { ...sealed, ciphertext: Buffer.alloc(0) }],
    ['unknown master key id', { ...sealed, keyId: 'k2' }],
  ];
  it.each(tampered)('refuses a tampered %s with a DecryptionError that says nothing', (_label, bad) => {
    expect(() => openValue(ring, bad, ctx)).toThrow(DecryptionError);
    try {
      openValue(ring, bad, ctx);
    } catch (err) {
      expect((err as Error).message).toBe('Sealed value could not be opened');
    }
  });

  it.each([
    ['another secret id', { ...ctx, secretId: 't'.repeat(24) }],
    ['another project', { ...ctx, projectId: 'q'.repeat(24) }],
    ['another version', { ...ctx, version: 2 }],
  ])('refuses a sealed value moved to %s (AAD)', (_label, other) => {
    expect(() => openValue(ring, sealed, other)).toThrow(DecryptionError);
  });

  it('refuses to open under another master key with the same id', () => {
    const impostor = createKeyring('k1', [['k1', generateKey()]]);
    expect(() => openValue(impostor, sealed, ctx)).toThrow(DecryptionError);
  });

  it('opens with any key of the ring, whichever is active', () => {
    const old = generateKey();
    const before = createKeyring('old', [['old', old]]);
    const sealedBefore = sealValue(before, 'kept', ctx);
    const rotated = createKeyring('new', [
      ['new', generateKey()],
      ['old', old],
    ]);
    expect(openValue(rotated, sealedBefore, ctx)).toBe('kept');
    expect(sealValue(rotated, 'x', ctx).keyId).toBe('new');
  });

  it('refuses a keyring whose keys are not 32 bytes or whose active id is missing', () => {
    expect(() => createKeyring('a', [['a', Buffer.alloc(16)]])).toThrow(/32 bytes/);
    expect(() => createKeyring('b', [['a', generateKey()]])).toThrow(/not in the keyring/);
  });
});

import { describe, expect, it } from 'vitest';
import { apiKeyPrefix, generateApiKey, hashApiKey, isWellFormedApiKey } from '../../src/auth/api-key.ts';
import { readApiKey } from '../../src/auth/credentials.ts';

describe('API keys', () => {
  it('look like sk-lw- and 43 base62 characters (no underscore), ≥ 190 random bits', () => {
    const keys = new Set(Array.from({ length: 200 }, generateApiKey));
    expect(keys.size).toBe(200);
    for (const key of keys) {
      expect(key).toMatch(/^sk-lw-[A-Za-z0-9]{43}$/);
      expect(isWellFormedApiKey(key)).toBe(true);
    }
  });

  it('draw each of the 62 characters about equally often: 43 × log2(62) ≈ 256 bits, not fewer', () => {
    // 2,000 keys give 86,000 characters, about 1,387 of each; a character
    // missing, or drawn half or twice as often (a biased modulo, a smaller
    // alphabet), falls far outside these bounds. A uniform draw falls
    // outside them with a probability below 1e-18 (9 standard deviations).
    const counts = new Map<string, number>();
    for (const key of Array.from({ length: 2000 }, generateApiKey)) {
      for (const ch of key.slice('sk-lw-'.length)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    expect(counts.size).toBe(62);
    const expected = (2000 * 43) / 62;
    for (const [ch, count] of counts) {
      expect({ ch, ratio: count / expected }).toEqual({ ch, ratio: expect.toSatisfy((r: number) => r > 0.75 && r < 1.25) });
    }
  });

  it('are stored as the SHA-256 hex of the whole key, shown by a 10-character prefix', () => {
    const key = generateApiKey();
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).not.toBe(hashApiKey(`${key}x`));
    expect(apiKeyPrefix(key)).toBe(key.slice(0, 10));
  });

  it.each(['', 'sk-lw-', 'sk-lw-short', `sk-lw-${'a'.repeat(31)}`, `sk-lw-${'a_'.repeat(20)}`, `sk-xx-${'a'.repeat(40)}`])(
    'refuses a malformed key %j before any lookup',
    (key) => expect(isWellFormedApiKey(key)).toBe(false),
  );
});

describe('readApiKey', () => {
  const from = (headers: Record<string, string>) => (name: string) => headers[name];
  it('reads X-Auth-Token, then Authorization: Bearer', () => {
    expect(readApiKey(from({ 'x-auth-token': 'a' }))).toBe('a');
    expect(readApiKey(from({ authorization: 'Bearer b' }))).toBe('b');
    expect(readApiKey(from({ authorization: 'bearer c' }))).toBe('c');
    expect(readApiKey(from({ authorization: 'Basic d' }))).toBeUndefined();
  });
  it('reads X-Session-API-Key and X-API-Key only where the door allows them', () => {
    expect(readApiKey(from({ 'x-session-api-key': 's' }))).toBeUndefined();
    expect(readApiKey(from({ 'x-api-key': 'k' }))).toBeUndefined();
    expect(readApiKey(from({ 'x-session-api-key': 's' }), { extraHeaders: ['x-session-api-key'] })).toBe('s');
    expect(readApiKey(from({ 'x-api-key': 'k' }), { extraHeaders: ['x-session-api-key'] })).toBeUndefined();
    expect(readApiKey(from({ 'x-api-key': 'k' }), { extraHeaders: ['x-api-key'] })).toBe('k');
    // The common headers win over a door's own.
    expect(readApiKey(from({ 'x-api-key': 'k', 'x-auth-token': 'a' }), { extraHeaders: ['x-api-key'] })).toBe('a');
  });
});

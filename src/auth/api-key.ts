// API keys: `sk-lw-` + 43 base62 characters (≈256 random bits, above the 190
// the contract asks for). Only a SHA-256 hash of the whole key is stored. The
// hash is deliberately not keyed with the master key: the master key rotates,
// and a key with this much entropy needs no secret pepper against guessing.
import { createHash, randomInt } from 'node:crypto';

export const API_KEY_PREFIX = 'sk-lw-';
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const RANDOM_CHARS = 43;
const WELL_FORMED = /^sk-lw-[A-Za-z0-9]{32,128}$/;

export function generateApiKey(): string {
  let body = '';
  // randomInt draws without modulo bias.
  for (let i = 0; i < RANDOM_CHARS; i++) body += BASE62[randomInt(BASE62.length)];
  return API_KEY_PREFIX + body;
}

export function isWellFormedApiKey(candidate: string): boolean {
  return WELL_FORMED.test(candidate);
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** What may be shown of a key after its creation: enough to recognise it, useless to an attacker. */
export function apiKeyPrefix(key: string): string {
  return key.slice(0, 10);
}

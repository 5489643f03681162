// A real OpenID issuer on loopback, as a test runs it: keys it makes with
// jose (RS256 and ES256), its discovery document and JWKS served over HTTP,
// tokens it signs, a key rotation (a new kid), and a count of each fetch.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

type Alg = 'RS256' | 'ES256';

interface SigningKey {
  readonly kid: string;
  readonly alg: Alg;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function makeKey(alg: Alg): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`;
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export interface TestIssuer {
  /** Its URL, as its tokens' iss says it. */
  readonly url: string;
  /** GETs of its discovery document and JWKS so far. */
  readonly fetches: { discovery: number; jwks: number };
  /** The kids it publishes now. */
  kids(): string[];
  /** A token signed with its current key of `alg` (RS256 by default), valid for an hour unless the claims say otherwise. */
  sign(claims: JWTPayload, options?: { alg?: Alg; kid?: string; issuer?: string; audience?: string | string[] }): Promise<string>;
  /** Replaces its key of `alg` by a new one (a new kid); the old one is no longer published. */
  rotate(alg?: Alg): Promise<string>;
  /** Changes what its discovery document says (a foreign issuer, another jwks_uri). */
  setDiscovery(patch: Record<string, unknown>): void;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const keys = new Map<Alg, SigningKey>([
    ['RS256', await makeKey('RS256')],
    ['ES256', await makeKey('ES256')],
  ]);
  const fetches = { discovery: 0, jwks: 0 };
  let patch: Record<string, unknown> = {};
  const server = http.createServer((req, res) => {
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') {
      fetches.discovery++;
      return send({ issuer: url, jwks_uri: `${url}/keys`, id_token_signing_alg_values_supported: ['RS256', 'ES256'], ...patch });
    }
    if (req.url === '/keys') {
      fetches.jwks++;
      return send({ keys: [...keys.values()].map((k) => k.jwk) });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    fetches,
    kids: () => [...keys.values()].map((k) => k.kid),
    async sign(claims, options = {}) {
      const key = keys.get(options.alg ?? 'RS256')!;
      const jwt = new SignJWT({ ...claims })
        .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: 'JWT' })
        .setIssuer(options.issuer ?? url)
        .setAudience(options.audience ?? 'secrets-service');
      if (claims.iat === undefined) jwt.setIssuedAt();
      if (claims.exp === undefined) jwt.setExpirationTime('1h');
      return jwt.sign(key.privateKey);
    },
    async rotate(alg = 'RS256') {
      const key = await makeKey(alg);
      keys.set(alg, key);
      return key.kid;
    },
    setDiscovery(next) {
      patch = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

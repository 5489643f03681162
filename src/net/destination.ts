// Where the service may send a request of its own (a webhook, an identity's
// issuer): http(s) URLs whose host resolves to public addresses only.
// Loopback, private, link-local (cloud metadata lives there), shared,
// multicast and unspecified addresses are refused unless the policy allows
// the host (WEBHOOK_ALLOWED_HOSTS, OIDC_ALLOWED_ISSUERS). The check runs when
// the URL is configured and again in the connection's own DNS lookup at every
// request, so a name that later resolves inward (DNS rebinding) is refused too.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(network, prefix, 'ipv4');
// IPv6, with every form that carries (or reaches) an IPv4 address or a
// local network: IPv4-compatible (::a.b.c.d, which holds :: and ::1 too),
// IPv4-mapped (Node's BlockList checks those against the IPv4 rules as well),
// NAT64 (well-known and local-use), 6to4 and Teredo (either can tunnel to an
// internal IPv4 address), discard-only, unique local, site-local (deprecated,
// still routed inside some networks), link-local and multicast.
for (const [network, prefix] of [
  ['::', 96],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fec0::', 10],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  blocked.addSubnet(network, prefix, 'ipv6');

/** Whether an address is one a webhook may not reach (an IPv4 address mapped into IPv6 counts as itself). */
export function isInternalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return blocked.check(mapped, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class DestinationRefusedError extends Error {
  override readonly name = 'DestinationRefusedError';
}

export interface DestinationPolicy {
  /** Hosts (names or addresses, lower case) that may be internal: WEBHOOK_ALLOWED_HOSTS. */
  readonly allowedHosts: ReadonlySet<string>;
  /** The setting that allows a host, named in refusals (default WEBHOOK_ALLOWED_HOSTS). */
  readonly setting?: string;
}

/** The host part of a URL as the allow-list names it: no brackets around IPv6, lower case. */
export const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();

/** A URL a webhook may have; throws DestinationRefusedError (with a message fit for the caller) otherwise. */
export function parseDestination(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DestinationRefusedError('The URL is not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DestinationRefusedError('The URL must be http or https');
  if (url.username || url.password) throw new DestinationRefusedError('The URL must not carry credentials');
  return url;
}

const refusal = (host: string, policy: DestinationPolicy) =>
  new DestinationRefusedError(
    `The host ${host} is or resolves to a loopback, private, link-local or metadata address; name it in ${policy.setting ?? 'WEBHOOK_ALLOWED_HOSTS'} to allow it`,
  );

/**
 * Resolves `host` to all its addresses, refusing it (DestinationRefusedError)
 * when it does not resolve, or when one of them is internal and the host is
 * not allowed.
 */
function resolveChecked(host: string, policy: DestinationPolicy, family: 0 | 4 | 6, done: (err: Error | null, addresses?: LookupAddress[]) => void): void {
  dnsLookup(host, { all: true, family }, (err, addresses) => {
    if (err) return done(new DestinationRefusedError(`The host ${host} does not resolve`));
    if (!policy.allowedHosts.has(host.toLowerCase()) && addresses.some((a) => isInternalAddress(a.address))) return done(refusal(host, policy));
    return done(null, addresses);
  });
}

/**
 * Refuses a URL whose host is an internal address, not allowed. Node does
 * not look an address up, so guardedLookup never sees it: a send checks it
 * with this first.
 */
export function checkAddressHost(url: URL, policy: DestinationPolicy): void {
  const host = hostOf(url);
  if (isIP(host) && !policy.allowedHosts.has(host) && isInternalAddress(host)) throw refusal(host, policy);
}

/** Resolves the URL's host and refuses it if any of its addresses is internal (and it is not allowed). */
export async function checkDestination(url: URL, policy: DestinationPolicy): Promise<void> {
  const host = hostOf(url);
  if (isIP(host)) return checkAddressHost(url, policy);
  if (policy.allowedHosts.has(host)) return;
  await new Promise<void>((resolve, reject) => resolveChecked(host, policy, 0, (err) => (err ? reject(err) : resolve())));
}

/**
 * The `lookup` for node:http(s) requests to a webhook: the resolution the
 * connection uses is the one checked (an address in the URL is not looked
 * up: checkAddressHost).
 */
export function guardedLookup(policy: DestinationPolicy) {
  return (hostname: string, options: { all?: boolean; family?: number | string }, callback: (...args: unknown[]) => void) => {
    const family = options.family === 6 || options.family === 'IPv6' ? 6 : options.family === 4 || options.family === 'IPv4' ? 4 : 0;
    resolveChecked(hostname, policy, family, (err, addresses) => {
      if (err) return callback(err);
      if (options.all) return callback(null, addresses);
      return callback(null, addresses![0]!.address, addresses![0]!.family);
    });
  };
}

// Where a webhook may not send, in every IPv6 form that reaches an internal
// address: checked as a URL is when a webhook is created (and before each
// send of an address URL), and as the address the connection's own lookup
// answers (the resolution a send to a name connects to).
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { checkDestination, DestinationRefusedError, guardedLookup, parseDestination } from '../../src/net/destination.ts';

const policy = { allowedHosts: new Set<string>() };

/** What the guarded lookup answers for `address`: the address a send would connect to, or the refusal. */
function connectsTo(address: string, all: boolean): Promise<unknown> {
  return new Promise((resolve) => {
    guardedLookup(policy)(address, { all, family: 0 }, (err: unknown, answer: unknown) => resolve(err ?? answer));
  });
}

const INTERNAL: [string, string][] = [
  ['IPv4-compatible, dotted', '::127.0.0.1'],
  ['IPv4-compatible, hex', '::a9fe:a9fe'],
  ['IPv4-compatible, a public IPv4 inside (the whole ::/96 is refused)', '::8.8.8.8'],
  ['IPv4-mapped, hex', '::ffff:7f00:1'],
  ['IPv4-mapped, dotted, metadata', '::ffff:169.254.169.254'],
  ['6to4 of 127.0.0.1', '2002:7f00:1::'],
  ['6to4 of 10.0.0.1', '2002:a00:1::1'],
  ['NAT64 well-known', '64:ff9b::a00:1'],
  ['NAT64 local-use', '64:ff9b:1::a00:1'],
  ['site-local', 'fec0::1'],
  ['Teredo', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
  ['discard-only', '100::1'],
  ['unique local', 'fd00:ec2::254'],
  ['link-local', 'fe80::1'],
  ['loopback', '::1'],
  ['unspecified', '::'],
  ['multicast', 'ff02::1'],
];

describe('webhook destinations, IPv6', () => {
  it.each(INTERNAL)('refuses %s (%s) as a URL and as the address a connection would reach', async (_label, address) => {
    await expect(checkDestination(parseDestination(`http://[${address}]/hook`), policy)).rejects.toBeInstanceOf(DestinationRefusedError);
    for (const all of [false, true]) expect(await connectsTo(address, all)).toBeInstanceOf(DestinationRefusedError);
  });

  it('reaches public IPv6 addresses, in full and compressed forms', async () => {
    for (const address of ['2001:4860:4860::8888', '2606:4700:4700:0:0:0:0:1111', '2a00:1450:4001:830::200e']) {
      await expect(checkDestination(parseDestination(`https://[${address}]/hook`), policy)).resolves.toBeUndefined();
      const reached = await connectsTo(address, false);
      expect(typeof reached === 'string' && isIP(reached)).toBe(6);
    }
  });
});

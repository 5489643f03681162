// Whether a token's subject and claims are the ones an identity names: each
// exactly, or by a glob whose only wildcard is `*` (any run of characters,
// `/` and `:` included: `repo:acme/app:ref:refs/heads/*`).

/** Whether `value` is what `pattern` says. */
export function globMatches(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's').test(value);
}

/**
 * A claim of the token: a name (`repository`), or a JSON pointer into the
 * claims (`/kubernetes.io/namespace`), as Kubernetes nests its own.
 */
export function claimOf(payload: Record<string, unknown>, name: string): unknown {
  if (!name.startsWith('/')) return Object.hasOwn(payload, name) ? payload[name] : undefined;
  let at: unknown = payload;
  for (const raw of name.slice(1).split('/')) {
    const step = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, step)) return undefined;
    at = (at as Record<string, unknown>)[step];
  }
  return at;
}

/** The value of a claim that matches the pattern (a string, number or boolean; of a list, the first that matches), or undefined. */
export function matchingValue(claim: unknown, pattern: string): string | undefined {
  const candidates = Array.isArray(claim) ? claim : [claim];
  for (const candidate of candidates) {
    if (typeof candidate !== 'string' && typeof candidate !== 'number' && typeof candidate !== 'boolean') continue;
    if (globMatches(pattern, String(candidate))) return String(candidate);
  }
  return undefined;
}

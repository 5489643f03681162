// References between values: `${NAME}` (a secret of the same environment),
// `${slug.NAME}` (of another environment of the project) and `$${` for a
// literal `${`. Expanded on the reveal paths that serve workloads, to a depth
// of 8; a reference to nothing, or a cycle, fails the whole expansion, naming
// it, so that nothing partial is served.
import { SecretReferenceError } from './errors.ts';

export const REFERENCE_DEPTH_MAX = 8;

/** Where a reference points: an environment's slug and a secret name. */
export interface Target {
  readonly environment: string;
  readonly name: string;
}

/** A value as stored: its environment's values are looked up through `valueOf`. */
export type ValueOf = (target: Target) => Promise<string | undefined>;

const label = (t: Target, from: string) => (t.environment === from ? t.name : `${t.environment}.${t.name}`);

/**
 * A reference is `${NAME}` or `${slug.NAME}` with NAME an environment
 * variable's name; anything else between `${` and `}` is text of the value,
 * left as it is and never named in an error (it may be part of a secret).
 */
const REFERENCE = /^(?:([a-z][a-z0-9-]{0,31})\.)?([A-Za-z_][A-Za-z0-9_]{0,254})$/;

/** What `${inner}` names, read from `environment`; undefined: not a reference. */
function targetOf(inner: string, environment: string): Target | undefined {
  const match = REFERENCE.exec(inner);
  return match ? { environment: match[1] ?? environment, name: match[2]! } : undefined;
}

/** Whether a value holds anything to expand (a reference or an escape): most values do not, and cost nothing. */
export const hasReferences = (value: string) => value.includes('${');

/**
 * The value of `start` with every reference in it expanded, recursively.
 * `valueOf` is asked once per secret however often it is referenced.
 */
export function createExpander(valueOf: ValueOf) {
  const cache = new Map<string, Promise<string | undefined>>();
  const read = (t: Target) => {
    const key = `${t.environment}\u0000${t.name}`;
    if (!cache.has(key)) cache.set(key, valueOf(t));
    return cache.get(key)!;
  };

  async function expand(at: Target, raw: string, chain: readonly Target[]): Promise<string> {
    if (!hasReferences(raw)) return raw;
    let out = '';
    for (let i = 0; i < raw.length;) {
      if (raw.startsWith('$${', i)) {
        out += '${';
        i += 3;
        continue;
      }
      const end = raw.startsWith('${', i) ? raw.indexOf('}', i + 2) : -1;
      const target = end < 0 ? undefined : targetOf(raw.slice(i + 2, end), at.environment);
      if (!target) {
        out += raw[i];
        i += 1;
        continue;
      }
      const path = [...chain, target].map((t) => label(t, chain[0]!.environment)).join(' → ');
      if (chain.some((t) => t.environment === target.environment && t.name === target.name)) {
        throw new SecretReferenceError(`The references of ${label(chain[0]!, chain[0]!.environment)} form a cycle: ${path}`);
      }
      if (chain.length > REFERENCE_DEPTH_MAX) throw new SecretReferenceError(`The references of ${label(chain[0]!, chain[0]!.environment)} go deeper than ${REFERENCE_DEPTH_MAX}: ${path}`);
      const value = await read(target);
      if (value === undefined) throw new SecretReferenceError(`${label(at, chain[0]!.environment)} refers to \${${label(target, at.environment)}}, which does not exist`);
      out += await expand(target, value, [...chain, target]);
      i = end + 1;
    }
    return out;
  }

  return (start: Target, raw: string) => expand(start, raw, [start]);
}

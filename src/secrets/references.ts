// References between values: `${NAME}` (a secret of the same environment),
// `${slug.NAME}` (of another environment of the project) and `$${` for a
// literal `${`. Expanded on the reveal paths that serve workloads, to a depth
// of 8; a reference to nothing, or a cycle, fails the whole expansion, naming
// it, so that nothing partial is served.
//
// The work is bounded, not only the depth: a value's expansion may hold at
// most `maxChars` characters and one call may follow at most `maxReferences`
// references, both checked while expanding (before a piece is appended, never
// after a string is built), and each secret is expanded once per call however
// often it is referenced. Without that, ten values of `${NEXT}` repeated
// expand to a size exponential in their number (XML's "billion laughs").
import { ReferenceBoundError, SecretReferenceError } from './errors.ts';

export const REFERENCE_DEPTH_MAX = 8;

/** The bounds on one call's expansion. */
export interface ExpansionLimits {
  /** Characters in one expanded value. */
  readonly maxChars: number;
  /** References followed in one call (each occurrence counts; a repeated one is read and expanded once). */
  readonly maxReferences: number;
}

export const DEFAULT_EXPANSION_LIMITS: ExpansionLimits = Object.freeze({ maxChars: 65_536, maxReferences: 10_000 });

/** Where a reference points: an environment's slug and a secret name. */
export interface Target {
  readonly environment: string;
  readonly name: string;
}

/** A value as stored: its environment's values are looked up through `valueOf`. */
export type ValueOf = (target: Target) => Promise<string | undefined>;

const label = (t: Target, from: string) => (t.environment === from ? t.name : `${t.environment}.${t.name}`);
const keyOf = (t: Target) => `${t.environment}\u0000${t.name}`;

/**
 * A reference is `${NAME}` or `${slug.NAME}` with NAME an environment
 * variable's name; anything else between `${` and `}` is text of the value,
 * left as it is and never named in an error (it may be part of a secret).
 */
const REFERENCE = /^(?:([a-z][a-z0-9-]{0,31})\.)?([A-Za-z_][A-Za-z0-9_]{0,254})$/;

/** The longest text a reference holds between `${` and `}`: a slug, a dot and a name. */
const REFERENCE_TEXT_MAX = 32 + 1 + 255;

/** What `${inner}` names, read from `environment`; undefined: not a reference. */
function referenceOf(inner: string, environment: string): Target | undefined {
  const match = REFERENCE.exec(inner);
  return match ? { environment: match[1] ?? environment, name: match[2]! } : undefined;
}

/** Whether a value holds anything to expand (a reference or an escape): most values do not, and cost nothing. */
export const hasReferences = (value: string) => value.includes('${');

/** A finished expansion: its text and how many levels of references lie under it. */
interface Expanded {
  readonly text: string;
  readonly height: number;
}

/**
 * Expands values for one call. `valueOf` is asked once per secret, and each
 * secret is expanded once, however often it is referenced.
 */
export function createExpander(valueOf: ValueOf, limits: ExpansionLimits = DEFAULT_EXPANSION_LIMITS) {
  const raw = new Map<string, Promise<string | undefined>>();
  const done = new Map<string, Expanded>();
  let followed = 0;
  const read = (t: Target) => {
    const key = keyOf(t);
    if (!raw.has(key)) raw.set(key, valueOf(t));
    return raw.get(key)!;
  };

  async function expand(at: Target, value: string, chain: readonly Target[]): Promise<Expanded> {
    const start = chain[0]!;
    const named = (t: Target) => label(t, start.environment);
    const tooLarge = () =>
      new ReferenceBoundError(
        `The references of ${named(start)} expand past ${limits.maxChars} characters${at === start ? '' : ` (in ${named(at)})`}: nothing is served`,
      );
    if (!hasReferences(value)) {
      if (value.length > limits.maxChars) throw tooLarge();
      return { text: value, height: 0 };
    }
    const pieces: string[] = [];
    let size = 0;
    let height = 0;
    const append = (piece: string) => {
      size += piece.length;
      if (size > limits.maxChars) throw tooLarge();
      pieces.push(piece);
    };
    let i = 0;
    while (i < value.length) {
      const open = value.indexOf('${', i);
      if (open < 0) break;
      if (open > 0 && value[open - 1] === '$') {
        // `$${` is a literal `${`: the `$` before it is the escape.
        append(value.slice(i, open - 1) + '${');
        i = open + 2;
        continue;
      }
      // Looked for only as far as a reference can reach: `${${${…` costs a pass, not a pass per `${`.
      const close = value.slice(open + 2, open + 3 + REFERENCE_TEXT_MAX).indexOf('}');
      const end = close < 0 ? -1 : open + 2 + close;
      const target = end < 0 ? undefined : referenceOf(value.slice(open + 2, end), at.environment);
      if (!target) {
        append(value.slice(i, open + 2));
        i = open + 2;
        continue;
      }
      append(value.slice(i, open));
      i = end + 1;
      followed += 1;
      if (followed > limits.maxReferences) {
        throw new ReferenceBoundError(`Expanding ${named(start)} follows more than ${limits.maxReferences} references: nothing is served`);
      }
      const path = () => [...chain, target].map(named).join(' → ');
      if (chain.some((t) => t.environment === target.environment && t.name === target.name)) {
        throw new SecretReferenceError(`The references of ${named(start)} form a cycle: ${path()}`);
      }
      if (chain.length > REFERENCE_DEPTH_MAX)
        throw new SecretReferenceError(`The references of ${named(start)} go deeper than ${REFERENCE_DEPTH_MAX}: ${path()}`);
      let inner = done.get(keyOf(target));
      if (!inner) {
        const stored = await read(target);
        if (stored === undefined) throw new SecretReferenceError(`${named(at)} refers to \${${label(target, at.environment)}}, which does not exist`);
        inner = await expand(target, stored, [...chain, target]);
        done.set(keyOf(target), inner);
      }
      // Expanded once at a shallower place, it may still be too deep from here.
      if (chain.length + inner.height > REFERENCE_DEPTH_MAX) {
        throw new SecretReferenceError(`The references of ${named(start)} go deeper than ${REFERENCE_DEPTH_MAX}: ${path()} → …`);
      }
      height = Math.max(height, inner.height + 1);
      append(inner.text);
    }
    append(value.slice(i));
    return { text: pieces.join(''), height };
  }

  return async (start: Target, value: string) => (await expand(start, value, [start])).text;
}

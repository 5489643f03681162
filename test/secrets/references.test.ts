// The expander alone: references resolved through a map of stored values,
// with the bounds on size and on references followed checked while expanding.
import { describe, expect, it } from 'vitest';
import { ReferenceBoundError, SecretReferenceError } from '../../src/secrets/errors.ts';
import { createExpander, type ExpansionLimits, type Target } from '../../src/secrets/references.ts';

function expanderOver(values: Record<string, string>, limits?: ExpansionLimits) {
  const asked: string[] = [];
  const expand = createExpander(async (t: Target) => {
    asked.push(`${t.environment}.${t.name}`);
    return values[t.name];
  }, limits);
  return { expand: (name: string) => expand({ environment: 'default', name }, values[name]!), asked };
}

describe('createExpander', () => {
  it('expands a value built of repeated references once per secret, each secret read once', async () => {
    // A tree 4 levels deep, 10 wide: 10,000 leaf references, 40 characters at the end.
    const values = { L0: '${L1}'.repeat(10), L1: '${L2}'.repeat(10), L2: '${L3}'.repeat(10), L3: 'x' };
    const { expand, asked } = expanderOver(values, { maxChars: 1000, maxReferences: 100 });
    expect(await expand('L0')).toBe('x'.repeat(1000));
    expect(asked.sort()).toEqual(['default.L1', 'default.L2', 'default.L3']);
  });

  it('refuses an expansion past maxChars while expanding, naming where it grew too large', async () => {
    // The amplification of issue 22: 10,000 characters, then 2,000 references to it, then 2,000 to those.
    const values = { M0: '${M1}'.repeat(2000), M1: '${M2}'.repeat(2000), M2: 'y'.repeat(10_000) };
    const { expand } = expanderOver(values);
    const refused = await expand('M0').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ReferenceBoundError);
    expect((refused as Error).message).toBe('The references of M0 expand past 65536 characters (in M1): nothing is served');
  });

  it('refuses a call that follows more than maxReferences references, counting repeats', async () => {
    const { expand } = expanderOver({ A: '${B}'.repeat(6), B: 'b' }, { maxChars: 1000, maxReferences: 5 });
    await expect(expand('A')).rejects.toThrow(new ReferenceBoundError('Expanding A follows more than 5 references: nothing is served'));
    const fits = expanderOver({ A: '${B}'.repeat(5), B: 'b' }, { maxChars: 1000, maxReferences: 5 });
    expect(await fits.expand('A')).toBe('bbbbb');
  });

  it('a secret expanded once near the top is still too deep further down, and fits where it fits', async () => {
    // S0 → S1 → … → S8 is as deep as a chain may go; S1 is expanded (and kept) on the way.
    const chain = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`S${i}`, i === 8 ? 'end' : `\${S${i + 1}}`]));
    const values = { ...chain, T: '${D1}', D1: '${S1}', U: '${E1}', E1: '${S2}' };
    const { expand } = expanderOver(values);
    expect(await expand('S0')).toBe('end');
    const refused = await expand('T').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(SecretReferenceError);
    expect((refused as Error).message).toBe('The references of T go deeper than 8: T → D1 → S1 → …');
    expect(await expand('U')).toBe('end');
  });

  it('keeps escapes and text that is not a reference, and counts their length too', async () => {
    const { expand } = expanderOver({ A: 'a $${HOME} ${not a ref} ${B} ${', B: 'b' }, { maxChars: 31, maxReferences: 5 });
    expect(await expand('A')).toBe('a ${HOME} ${not a ref} b ${');
    const tight = expanderOver({ A: 'a $${HOME} ${not a ref} ${B} ${', B: 'b' }, { maxChars: 26, maxReferences: 5 });
    await expect(tight.expand('A')).rejects.toBeInstanceOf(ReferenceBoundError);
  });
});

describe('createExpander, text that only looks like references', () => {
  it('reads ${ without a } near it as text, as far as a reference reaches (a slug, a dot, a name)', async () => {
    const near = `\${${'a'.repeat(32)}.${'B'.repeat(255)}}`;
    const far = `\${${'B'.repeat(289)}}`;
    const { expand } = expanderOver({ A: `${far} ${'${'.repeat(3000)} ${near}` }, { maxChars: 100_000, maxReferences: 5 });
    // The longest reference is still one (it names nothing here), past many `${` that are text.
    await expect(expand('A')).rejects.toThrow(`A refers to \${${'a'.repeat(32)}.${'B'.repeat(255)}}, which does not exist`);
    const { expand: plain } = expanderOver({ A: `${far} ${'${'.repeat(3000)}` }, { maxChars: 100_000, maxReferences: 5 });
    expect(await plain('A')).toBe(`${far} ${'${'.repeat(3000)}`);
  });
});

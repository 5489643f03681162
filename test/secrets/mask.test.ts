import { describe, expect, it } from 'vitest';
import { maskValue } from '../../src/secrets/mask.ts';

describe('maskValue', () => {
  it('shows the first 6 and last 3 characters of a value of 24 or more, like sk-pro••••789', () => {
    expect(maskValue('sk-proj-abcdefghijklmn789')).toBe('sk-pro••••789');
    expect(maskValue('a'.repeat(21) + 'xyz')).toBe('aaaaaa••••xyz');
    expect(maskValue('v'.repeat(10_000))).toBe('vvvvvv••••vvv');
  });

  it('shows mask characters only below 24 characters, so that at least 15 stay hidden', () => {
    for (const length of [1, 5, 9, 23]) expect(maskValue('s'.repeat(length))).toBe('••••••••');
  });

  it('never tells the length and never shows more than 9 characters of the value', () => {
    for (const length of [24, 25, 100, 9999]) {
      const value = Array.from({ length }, (_, i) => String.fromCharCode(65 + (i % 26))).join('');
      const masked = maskValue(value);
      expect(masked.replaceAll('•', '')).toHaveLength(9);
      expect(length - masked.replaceAll('•', '').length).toBeGreaterThanOrEqual(15);
    }
  });

  it('counts characters, not UTF-16 units, and never splits one', () => {
    const value = `🔑${'é'.repeat(22)}🔒`;
    expect(Array.from(value)).toHaveLength(24);
    expect(maskValue(value)).toBe(`🔑ééééé••••éé🔒`);
  });
});

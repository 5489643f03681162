// The masked preview of a value (v1 user-secrets door's `masked_value`), like
// the seed's `sk-pro••••789`: at most the first 6 and the last 3 characters,
// and only when the value is at least 24 characters long, so that at least 15
// stay hidden. Shorter values show mask characters only. The number of mask
// characters is fixed, so a preview does not tell a value's length either.
const MASK = '••••';
const SHORT_MASK = '••••••••';
const MIN_LENGTH_TO_SHOW = 24;

export function maskValue(value: string): string {
  const chars = Array.from(value); // by code point: never split a surrogate pair
  if (chars.length < MIN_LENGTH_TO_SHOW) return SHORT_MASK;
  return `${chars.slice(0, 6).join('')}${MASK}${chars.slice(-3).join('')}`;
}

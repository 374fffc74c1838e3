// Amounts are exact: a decimal string on the wire ("101.2"), an integer count of minor
// units (bigint) inside, with a per-currency scale (digits after the point).

/** The largest amount or balance magnitude the protocol carries, in minor units (int64, as stored). */
export const MAX_MINOR_UNITS = 2n ** 63n - 1n;
export const MAX_SCALE = 18;

/** The longest amount text accepted on the wire, before any arithmetic is attempted. */
const MAX_AMOUNT_TEXT = 40;
const AMOUNT_PATTERN = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

export type AmountParse =
  | { ok: true; value: bigint }
  | { ok: false; reason: string };

export function assertScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 0 || scale > MAX_SCALE) {
    throw new RangeError(`scale must be an integer from 0 to ${MAX_SCALE}, got ${scale}`);
  }
}

/** Parses a non-negative wire amount into minor units. Never uses floating point. */
export function parseAmount(text: string, scale: number): AmountParse {
  assertScale(scale);
  if (text.length === 0 || text.length > MAX_AMOUNT_TEXT) {
    return { ok: false, reason: 'amount must be 1 to 40 characters' };
  }
  const match = AMOUNT_PATTERN.exec(text);
  if (!match) {
    return { ok: false, reason: 'amount must be a plain decimal such as 101.2 (no sign, exponent or spaces)' };
  }
  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  if (fraction.length > scale) {
    return { ok: false, reason: `amount has more than ${scale} decimal places` };
  }
  const value = BigInt(whole + fraction.padEnd(scale, '0'));
  if (value > MAX_MINOR_UNITS) {
    return { ok: false, reason: 'amount is too large' };
  }
  return { ok: true, value };
}

/** Formats minor units as the shortest exact decimal: 10120n at scale 2 is "101.2". */
export function formatAmount(minor: bigint, scale: number): string {
  assertScale(scale);
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
  return (negative ? '-' : '') + whole + (fraction ? `.${fraction}` : '');
}

/** Parses a balance, which may be negative (the issuer's treasury). */
export function parseSignedAmount(text: string, scale: number): AmountParse {
  if (text.startsWith('-')) {
    const parsed = parseAmount(text.slice(1), scale);
    return parsed.ok ? { ok: true, value: -parsed.value } : parsed;
  }
  return parseAmount(text, scale);
}

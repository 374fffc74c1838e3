import { describe, expect, it } from 'vitest';
import { formatAmount, MAX_MINOR_UNITS, parseAmount, parseSignedAmount } from './amount.js';

describe('amounts', () => {
  it('parses exact decimals into minor units', () => {
    expect(parseAmount('101.2', 2)).toEqual({ ok: true, value: 10120n });
    expect(parseAmount('100', 2)).toEqual({ ok: true, value: 10000n });
    expect(parseAmount('0.01', 2)).toEqual({ ok: true, value: 1n });
    expect(parseAmount('7', 0)).toEqual({ ok: true, value: 7n });
    expect(parseAmount('92233720368547758.07', 2)).toEqual({ ok: true, value: MAX_MINOR_UNITS });
  });

  it('refuses anything that is not a plain decimal within scale and range', () => {
    for (const bad of ['', '-1', '+1', '1e3', '1.', '.5', '01', '1.001', ' 1', '1 ', '0x1', 'NaN', '1,5', '92233720368547758.08']) {
      expect(parseAmount(bad, 2).ok, JSON.stringify(bad)).toBe(false);
    }
    expect(parseAmount('1'.repeat(41), 2).ok).toBe(false);
  });

  it('formats the shortest exact decimal', () => {
    expect(formatAmount(10120n, 2)).toBe('101.2');
    expect(formatAmount(10000n, 2)).toBe('100');
    expect(formatAmount(5n, 2)).toBe('0.05');
    expect(formatAmount(0n, 2)).toBe('0');
    expect(formatAmount(-350n, 2)).toBe('-3.5');
    expect(formatAmount(123n, 0)).toBe('123');
  });

  it('round-trips every value it formats', () => {
    for (const value of [0n, 1n, 9n, 10n, 99n, 100n, 12345n, MAX_MINOR_UNITS]) {
      for (const scale of [0, 2, 6, 18]) {
        expect(parseAmount(formatAmount(value, scale), scale)).toEqual({ ok: true, value });
      }
    }
    expect(parseSignedAmount('-3.5', 2)).toEqual({ ok: true, value: -350n });
  });

  it('refuses a scale outside 0..18', () => {
    expect(() => parseAmount('1', 19)).toThrow(RangeError);
    expect(() => formatAmount(1n, -1)).toThrow(RangeError);
  });
});

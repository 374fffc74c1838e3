// What resolve() accepts as a payment name, decided before any network request.
import { describe, expect, it } from 'vitest';
import { isPaymentName, NameResolutionError, parseName, resolve } from './resolve.js';

describe('payment names', () => {
  it('splits local@domain and lowercases the domain', () => {
    expect(parseName('bob@bank.com')).toEqual({ local: 'bob', domain: 'bank.com' });
    expect(parseName('Bob.Smith_1@Bank.COM')).toEqual({ local: 'Bob.Smith_1', domain: 'bank.com' });
    expect(isPaymentName('a@b')).toBe(true);
  });

  it.each(['bob', 'bob@', '@bank.com', 'bob@bank..com', 'b o b@bank.com', 'bob@bank.com/x', 'bob@-bank.com', 'bob@bank.com:443', `${'x'.repeat(65)}@bank.com`, 'bob@bank_com'])(
    'refuses %j without asking anyone',
    async (name) => {
      expect(isPaymentName(name)).toBe(false);
      await expect(resolve(name)).rejects.toMatchObject({ name: 'NameResolutionError', code: 'invalidName' });
      expect(() => parseName(name)).toThrow(NameResolutionError);
    },
  );
});

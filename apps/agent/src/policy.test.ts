import { describe, expect, it } from 'vitest';
import { applicationForToken, hashToken, parsePolicy, PolicyError } from './policy.js';

const money = 'http://money.com/lcp.wsdl';

describe('policy file', () => {
  it('reads limits in minor units of each currency and finds an application by its token', () => {
    const policy = parsePolicy(
      {
        currencies: { [money]: { scale: 2 } },
        accept: [money],
        applications: { player: { tokenSha256: hashToken('secret').toString('hex'), spending: { [money]: { perDay: '20', perPurchase: '2.5' } } } },
      },
      'test',
    );
    expect(policy.applications.get('player')?.spending.get(money)).toEqual({ perDay: 20_00n, perPurchase: 2_50n });
    expect(applicationForToken(policy, 'secret')?.name).toBe('player');
    expect(applicationForToken(policy, 'secreT')).toBeUndefined();
  });

  it('refuses currencies it does not know the scale of, and limits finer than the scale', () => {
    expect(() => parsePolicy({ accept: [money] }, 'test')).toThrow(PolicyError);
    expect(() => parsePolicy({ applications: { p: { spending: { [money]: { perDay: '1', perPurchase: '1' } } } } }, 'test')).toThrow(
      /not listed in currencies/,
    );
    expect(() =>
      parsePolicy({ currencies: { [money]: { scale: 2 } }, applications: { p: { spending: { [money]: { perDay: '1.001', perPurchase: '1' } } } } }, 'test'),
    ).toThrow(/perDay/);
    expect(() => parsePolicy({ applications: { 'bad name': {} } }, 'test')).toThrow(PolicyError);
  });
});

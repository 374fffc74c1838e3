import { describe, expect, it } from 'vitest';
import { decodeGetDepositsRequest, decodeTransferFundsRequest } from './codec.js';
import { LIMITS } from './limits.js';

const valid = { recipient: 'ab'.repeat(32), amount: '1.5', transactionId: 'tx-1', messageCounter: '7' };

describe('decoding what an issuer must not trust', () => {
  it('accepts a valid transfer, with and without the userid extension', () => {
    expect(decodeTransferFundsRequest(valid, 2)).toEqual({
      ok: true,
      value: { recipient: valid.recipient, amount: 150n, transactionId: 'tx-1', messageCounter: 7n },
    });
    expect(decodeTransferFundsRequest({ ...valid, userid: 'bob' }, 2)).toMatchObject({ ok: true, value: { userid: 'bob' } });
    expect(decodeTransferFundsRequest({ ...valid, userid: '' }, 2)).toMatchObject({ ok: true });
  });

  it.each([
    [{ recipient: 'AB'.repeat(32) }, 'invalidRecipient'],
    [{ recipient: 'BOCF...7E24' }, 'invalidRecipient'],
    [{ recipient: { nested: 'x' } }, 'invalidRecipient'],
    [{ amount: '0' }, 'invalidAmount'],
    [{ amount: ['1', '2'] }, 'invalidAmount'], // a duplicated element
    [{ amount: undefined }, 'invalidAmount'],
    [{ transactionId: 'x'.repeat(129) }, 'invalidTransactionId'],
    [{ transactionId: 'tab\there' }, 'invalidTransactionId'],
    [{ messageCounter: '0' }, 'invalidCounter'],
    [{ messageCounter: '9223372036854775808' }, 'invalidCounter'],
    [{ messageCounter: '-1' }, 'invalidCounter'],
    [{ userid: 'bob@bank.com' }, 'invalidUserid'],
  ])('refuses %j with %s', (patch, fault) => {
    expect(decodeTransferFundsRequest({ ...valid, ...patch }, 2)).toMatchObject({ ok: false, fault });
  });

  it('accepts the largest counter', () => {
    expect(decodeTransferFundsRequest({ ...valid, messageCounter: '9223372036854775807' }, 2)).toMatchObject({ ok: true });
  });

  it('clamps millisecondsWait and refuses negative or non-numeric waits', () => {
    expect(decodeGetDepositsRequest({ millisecondsWait: '3000' })).toEqual({ ok: true, value: { millisecondsWait: 3000 } });
    expect(decodeGetDepositsRequest({ millisecondsWait: '99999999999999999999' })).toEqual({
      ok: true,
      value: { millisecondsWait: LIMITS.maxWaitMs },
    });
    expect(decodeGetDepositsRequest({ millisecondsWait: '-1' })).toMatchObject({ ok: false, fault: 'invalidWait' });
    expect(decodeGetDepositsRequest({ millisecondsWait: '1.5' })).toMatchObject({ ok: false, fault: 'invalidWait' });
    expect(decodeGetDepositsRequest({ millisecondsWait: '0', acknowledge: 'x' })).toMatchObject({
      ok: false,
      fault: 'invalidAcknowledgement',
    });
  });
});

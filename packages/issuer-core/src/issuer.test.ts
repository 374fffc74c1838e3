import { afterEach, describe, expect, it } from 'vitest';
import { parseAmount } from '@lcp/protocol';
import { transferFee } from './issuer.js';
import {
  NO_FEES,
  TREASURY,
  closeAll,
  entity,
  expectDeposits,
  expectResponse,
  openLedger,
  request,
} from './test-support.js';
import { FEE_ACCOUNT } from './types.js';

const alice = entity('alice');
const bob = entity('bob');
const carol = entity('carol');

/** "101.2" at scale 2 -> 10120n */
const units = (text: string): bigint => {
  const parsed = parseAmount(text, 2);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
};

afterEach(closeAll);

describe('Figure 1 of the paper', () => {
  it('mints, transfers, and delivers the deposit with the transactionId', async () => {
    const { ledger } = openLedger();
    expectResponse(await ledger.mint(alice, units('100'), 'issue-1'));
    const paid = expectResponse(
      await ledger.transfer({ sender: alice, request: request(bob, units('10'), 'invoice-42', 1n), resumed: false }),
    );
    expect(paid).toEqual({ result: 'success', fee: 0n, replayed: false });

    const got = expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 }));
    expect(got.deposits).toEqual([{ transactionId: 'invoice-42', amount: units('10'), sequence: 1n }]);
    expect(got.balance).toBe(units('10'));
    expect(await ledger.balance(alice)).toBe(units('90'));
    expect(await ledger.balance(bob)).toBe(units('10'));
    const totals = await ledger.totals();
    expect(totals.sum).toBe(0n);
    expect(totals.treasuryBalance).toBe(-units('100'));
    expect(totals.transfers).toBe(2);
    expect(totals.negativeAccounts).toEqual([]);
  });
});

describe('fees', () => {
  const fees = {
    transfer: { fixed: 0n, ratePpm: 12_000n },
    resumedTransfer: { fixed: 0n, ratePpm: 5_000n },
    getDeposits: 0n,
  };

  it('adds the fee on top of the amount and credits the fee account', async () => {
    const { ledger } = openLedger({ fees });
    await ledger.mint(alice, units('200'), 'issue');
    const paid = expectResponse(
      await ledger.transfer({ sender: alice, request: request(bob, units('100'), 't1', 1n), resumed: false }),
    );
    expect(paid.fee).toBe(units('1.2'));
    expect(await ledger.balance(alice)).toBe(units('200') - units('101.2'));
    expect(await ledger.balance(bob)).toBe(units('100'));
    expect(await ledger.balance(FEE_ACCOUNT)).toBe(units('1.2'));
    expect((await ledger.totals()).sum).toBe(0n);
  });

  it('uses the resumed rate for a resumed session', async () => {
    const { ledger } = openLedger({ fees });
    await ledger.mint(alice, units('200'), 'issue');
    const paid = expectResponse(
      await ledger.transfer({ sender: alice, request: request(bob, units('100'), 't1', 1n), resumed: true }),
    );
    expect(paid.fee).toBe(units('0.5'));
    expect(await ledger.balance(alice)).toBe(units('200') - units('100.5'));
  });

  it('rounds the proportional part up and adds the fixed part', () => {
    expect(transferFee(1n, { fixed: 3n, ratePpm: 12_000n })).toBe(4n);
    expect(transferFee(1_000_000n, { fixed: 0n, ratePpm: 1n })).toBe(1n);
    expect(transferFee(1_000_001n, { fixed: 0n, ratePpm: 1n })).toBe(2n);
    expect(transferFee(5n, { fixed: 0n, ratePpm: 0n })).toBe(0n);
  });

  it('charges the treasury no fee', async () => {
    const { ledger } = openLedger({ fees });
    expect(expectResponse(await ledger.mint(alice, units('100'), 'issue')).fee).toBe(0n);
    expect(await ledger.balance(FEE_ACCOUNT)).toBe(0n);
  });
});

describe('balance rules', () => {
  it('answers insufficientFunds, moves nothing, and uses up the counter', async () => {
    const { ledger } = openLedger({
      fees: { ...NO_FEES, transfer: { fixed: 1n, ratePpm: 0n } },
    });
    await ledger.mint(alice, 1000n, 'issue');
    // 1000 + fee 1 > 1000
    const answer = expectResponse(
      await ledger.transfer({ sender: alice, request: request(bob, 1000n, 't1', 1n), resumed: false }),
    );
    expect(answer).toEqual({ result: 'insufficientFunds', fee: 0n, replayed: false });
    expect(await ledger.balance(alice)).toBe(1000n);
    expect(await ledger.balance(bob)).toBe(0n);
    expect((await ledger.totals()).transfers).toBe(1);
    // The answer is definitive: retransmitting returns it again, and the counter is spent.
    const again = expectResponse(
      await ledger.transfer({ sender: alice, request: request(bob, 1000n, 't1', 1n), resumed: false }),
    );
    expect(again).toEqual({ result: 'insufficientFunds', fee: 0n, replayed: true });
    const other = await ledger.transfer({ sender: alice, request: request(bob, 10n, 't2', 1n), resumed: false });
    expect(other).toMatchObject({ fault: 'counterReused' });
    expect(expectResponse(await ledger.transfer({ sender: alice, request: request(bob, 999n, 't3', 2n), resumed: false })))
      .toEqual({ result: 'success', fee: 1n, replayed: false });
    expect(await ledger.balance(alice)).toBe(0n);
  });

  it('answers insufficientFunds to a sender without an account', async () => {
    const { ledger } = openLedger();
    const answer = await ledger.transfer({ sender: carol, request: request(bob, 1n, 't', 1n), resumed: false });
    expect(expectResponse(answer).result).toBe('insufficientFunds');
    expect((await ledger.totals()).sum).toBe(0n);
  });

  it('stops issuance at the cap', async () => {
    const { ledger } = openLedger({ issuanceCap: 500n });
    expect(expectResponse(await ledger.mint(alice, 300n, 'a')).result).toBe('success');
    expect(expectResponse(await ledger.mint(bob, 200n, 'b')).result).toBe('success');
    expect(expectResponse(await ledger.mint(bob, 1n, 'c'))).toEqual({
      result: 'issuanceCapExceeded',
      fee: 0n,
      replayed: false,
    });
    expect(await ledger.balance(bob)).toBe(200n);
    const totals = await ledger.totals();
    expect(totals.treasuryBalance).toBe(-500n);
    expect(totals.transfers).toBe(2);
    // Redemption brings currency back under the cap.
    await ledger.transfer({ sender: bob, request: request(TREASURY, 50n, 'redeem', 1n), resumed: false });
    expect(expectResponse(await ledger.mint(carol, 50n, 'd')).result).toBe('success');
  });

  it('refuses a transfer to oneself and changes nothing', async () => {
    const { ledger } = openLedger();
    await ledger.mint(alice, 100n, 'issue');
    const refused = await ledger.transfer({ sender: alice, request: request(alice, 10n, 't', 1n), resumed: false });
    expect(refused).toMatchObject({ fault: 'invalidRecipient' });
    // The counter was not used up.
    expect(expectResponse(await ledger.transfer({ sender: alice, request: request(bob, 10n, 't', 1n), resumed: false })).result)
      .toBe('success');
    expect(await ledger.mint(TREASURY, 1n, 'x')).toMatchObject({ fault: 'invalidRecipient' });
  });

  it('refuses what the codec would have refused', async () => {
    const { ledger } = openLedger();
    await ledger.mint(alice, 100n, 'issue');
    const send = (req: ReturnType<typeof request>) => ledger.transfer({ sender: alice, request: req, resumed: false });
    expect(await send(request(bob, 0n, 't', 1n))).toMatchObject({ fault: 'invalidAmount' });
    expect(await send(request('fees' as typeof bob, 1n, 't', 1n))).toMatchObject({ fault: 'invalidRecipient' });
    expect(await send(request(bob, 1n, '', 1n))).toMatchObject({ fault: 'invalidTransactionId' });
    expect(await send(request(bob, 1n, 't', 0n))).toMatchObject({ fault: 'invalidCounter' });
    expect(await send(request(bob, 1n, 't', 1n, 'no spaces'))).toMatchObject({ fault: 'invalidUserid' });
    expect(await ledger.balance(alice)).toBe(100n);
  });
});

describe('message counters', () => {
  it('replays the same counter and body without debiting twice', async () => {
    const { ledger } = openLedger({ fees: { ...NO_FEES, transfer: { fixed: 2n, ratePpm: 0n } } });
    await ledger.mint(alice, 100n, 'issue');
    const req = request(bob, 10n, 'pay', 1n, 'acct-7');
    const first = expectResponse(await ledger.transfer({ sender: alice, request: req, resumed: false }));
    const second = expectResponse(await ledger.transfer({ sender: alice, request: { ...req }, resumed: true }));
    expect(first).toEqual({ result: 'success', fee: 2n, replayed: false });
    expect(second).toEqual({ result: 'success', fee: 2n, replayed: true });
    expect(await ledger.balance(alice)).toBe(88n);
    expect(await ledger.balance(bob)).toBe(10n);
    expect((await ledger.totals()).transfers).toBe(2);
    const deposits = expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 }));
    expect(deposits.deposits).toEqual([{ transactionId: 'pay', amount: 10n, userid: 'acct-7', sequence: 1n }]);
  });

  it('refuses a reused counter with another body, and a lower unused counter', async () => {
    const { ledger } = openLedger();
    await ledger.mint(alice, 100n, 'issue');
    expectResponse(await ledger.transfer({ sender: alice, request: request(bob, 10n, 'a', 5n), resumed: false }));
    const before = await ledger.totals();

    for (const changed of [
      request(bob, 11n, 'a', 5n),
      request(carol, 10n, 'a', 5n),
      request(bob, 10n, 'b', 5n),
      request(bob, 10n, 'a', 5n, 'someone'),
    ]) {
      expect(await ledger.transfer({ sender: alice, request: changed, resumed: false })).toMatchObject({
        fault: 'counterReused',
      });
    }
    expect(await ledger.transfer({ sender: alice, request: request(bob, 10n, 'c', 3n), resumed: false })).toMatchObject(
      { fault: 'counterTooLow' },
    );
    expect(await ledger.totals()).toEqual(before);
    expect(await ledger.balance(alice)).toBe(90n);
    // Gaps are allowed: any counter above the last one.
    expect(expectResponse(await ledger.transfer({ sender: alice, request: request(bob, 1n, 'd', 9n), resumed: false })).result)
      .toBe('success');
  });

  it('keeps counters per sender', async () => {
    const { ledger } = openLedger();
    await ledger.mint(alice, 100n, 'a');
    await ledger.mint(bob, 100n, 'b');
    expect(expectResponse(await ledger.transfer({ sender: alice, request: request(carol, 1n, 'x', 1n), resumed: false })).replayed)
      .toBe(false);
    expect(expectResponse(await ledger.transfer({ sender: bob, request: request(carol, 1n, 'x', 1n), resumed: false })).replayed)
      .toBe(false);
    expect(await ledger.balance(carol)).toBe(2n);
  });
});

describe('getDeposits', () => {
  it('wakes a long-poll within a few milliseconds of the commit', async () => {
    const { ledger } = openLedger();
    await ledger.mint(alice, 100n, 'issue');
    const started = performance.now();
    const poll = ledger.getDeposits(bob, { millisecondsWait: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await ledger.transfer({ sender: alice, request: request(bob, 7n, 'late', 1n), resumed: false });
    const committed = performance.now();
    const answer = expectDeposits(await poll);
    const latency = performance.now() - committed;
    expect(answer.deposits.map((d) => d.transactionId)).toEqual(['late']);
    expect(committed - started).toBeGreaterThanOrEqual(45);
    expect(latency).toBeLessThan(200);
  });

  it('answers empty when the wait elapses', async () => {
    const { ledger } = openLedger();
    const started = performance.now();
    const answer = expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 100 }));
    const elapsed = performance.now() - started;
    expect(answer).toEqual({ deposits: [], fee: 0n, balance: 0n });
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(2000);
  });

  it('does not wake for another holder', async () => {
    const { ledger } = openLedger();
    await ledger.mint(alice, 100n, 'issue');
    const poll = ledger.getDeposits(bob, { millisecondsWait: 150 });
    await ledger.transfer({ sender: alice, request: request(carol, 7n, 'x', 1n), resumed: false });
    expect(expectDeposits(await poll).deposits).toEqual([]);
  });

  it('ack mode delivers a deposit again until it is acknowledged', async () => {
    const { ledger } = openLedger();
    await ledger.mint(alice, 100n, 'issue');
    await ledger.transfer({ sender: alice, request: request(bob, 1n, 'one', 1n), resumed: false });
    await ledger.transfer({ sender: alice, request: request(bob, 2n, 'two', 2n), resumed: false });
    const ids = async (acknowledge: bigint) =>
      expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0, acknowledge })).deposits.map(
        (d) => `${d.sequence}:${d.transactionId}`,
      );
    expect(await ids(0n)).toEqual(['1:one', '2:two']);
    expect(await ids(0n)).toEqual(['1:one', '2:two']);
    expect(await ids(1n)).toEqual(['2:two']);
    // An acknowledgement is remembered: a lower one does not bring deposits back.
    expect(await ids(0n)).toEqual(['2:two']);
    expect(await ids(2n)).toEqual([]);
    expect(expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 })).deposits).toEqual([]);
  });

  it('refuses an acknowledgement above the last deposit, changing nothing', async () => {
    const { ledger } = openLedger({ fees: { ...NO_FEES, getDeposits: 1n } });
    await ledger.mint(bob, 100n, 'issue');
    expect(await ledger.getDeposits(bob, { millisecondsWait: 0, acknowledge: 2n })).toMatchObject({
      fault: 'invalidAcknowledgement',
    });
    expect(await ledger.getDeposits(carol, { millisecondsWait: 0, acknowledge: 1n })).toMatchObject({
      fault: 'invalidAcknowledgement',
    });
    expect(await ledger.balance(bob)).toBe(100n);
    // Acknowledge-only, no wait: valid.
    const ackOnly = expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0, acknowledge: 1n }));
    expect(ackOnly).toEqual({ deposits: [], fee: 1n, balance: 99n });
  });

  it('paper mode: the reply acknowledges what it carries', async () => {
    const { ledger } = openLedger();
    await ledger.mint(alice, 100n, 'issue');
    await ledger.transfer({ sender: alice, request: request(bob, 1n, 'one', 1n), resumed: false });
    const first = expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 }));
    expect(first.deposits.map((d) => d.transactionId)).toEqual(['one']);
    expect(expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 })).deposits).toEqual([]);
    await ledger.transfer({ sender: alice, request: request(bob, 2n, 'two', 2n), resumed: false });
    const third = expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 }));
    expect(third.deposits.map((d) => d.transactionId)).toEqual(['two']);
    // Ack mode after paper mode: nothing is redelivered.
    expect(expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0, acknowledge: 0n })).deposits).toEqual([]);
  });

  it('caps the getDeposits fee at the balance and charges the treasury nothing', async () => {
    const { ledger } = openLedger({ fees: { ...NO_FEES, getDeposits: 5n } });
    await ledger.mint(alice, 3n, 'issue');
    const first = expectDeposits(await ledger.getDeposits(alice, { millisecondsWait: 0 }));
    expect(first).toMatchObject({ fee: 3n, balance: 0n });
    expect(first.deposits).toHaveLength(1);
    const second = expectDeposits(await ledger.getDeposits(alice, { millisecondsWait: 0 }));
    expect(second).toEqual({ deposits: [], fee: 0n, balance: 0n });
    const treasury = expectDeposits(await ledger.getDeposits(TREASURY, { millisecondsWait: 0 }));
    expect(treasury).toEqual({ deposits: [], fee: 0n, balance: -3n });
    const totals = await ledger.totals();
    expect(totals.feeBalance).toBe(3n);
    expect(totals.sum).toBe(0n);
    await ledger.mint(bob, 50n, 'b');
    expect(expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 }))).toMatchObject({ fee: 5n, balance: 45n });
  });

  it('an abort ends the wait and changes nothing', async () => {
    const { ledger } = openLedger({ fees: { ...NO_FEES, getDeposits: 1n } });
    await ledger.mint(bob, 10n, 'issue');
    await ledger.getDeposits(bob, { millisecondsWait: 0 }); // deliver the mint
    const controller = new AbortController();
    const started = performance.now();
    const poll = ledger.getDeposits(bob, { millisecondsWait: 10_000 }, controller.signal);
    setTimeout(() => controller.abort(), 30);
    expect(await poll).toMatchObject({ fault: 'unavailable' });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await ledger.balance(bob)).toBe(9n);
    const already = new AbortController();
    already.abort();
    expect(await ledger.getDeposits(bob, { millisecondsWait: 0 }, already.signal)).toMatchObject({
      fault: 'unavailable',
    });
  });

  it('close answers pending long-polls with what they have', async () => {
    const { ledger } = openLedger();
    const started = performance.now();
    const poll = ledger.getDeposits(bob, { millisecondsWait: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await ledger.close();
    expect(expectDeposits(await poll)).toEqual({ deposits: [], fee: 0n, balance: 0n });
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(ledger.mint(alice, 1n, 'late')).rejects.toThrow(/closed/);
  });

  it('returns at most the per-response limit, oldest first', async () => {
    const { ledger } = openLedger();
    await Promise.all(Array.from({ length: 1005 }, (_, i) => ledger.mint(bob, 1n, `m${i}`)));
    const first = expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 }));
    expect(first.deposits).toHaveLength(1000);
    expect(first.deposits[0]?.sequence).toBe(1n);
    const second = expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 }));
    expect(second.deposits.map((d) => d.sequence)).toEqual([1001n, 1002n, 1003n, 1004n, 1005n]);
  });
});

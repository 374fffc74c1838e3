// The ledger's contract: every rule of issuer.ts and every guarantee the storage port promises,
// written once and run against each adapter (contract-sqlite.test.ts, contract-postgres.test.ts).
import { describe, expect, it } from 'vitest';
import { parseAmount, type EntityId } from '@lcp/protocol';
import { transferFee } from './issuer.js';
import {
  NO_FEES,
  TREASURY,
  entity,
  expectDeposits,
  expectResponse,
  prng,
  request,
} from './test-support.js';
import { FEE_ACCOUNT, type IssuerLedger, type IssuerSettings, type LedgerStore, type NewTransfer } from './types.js';

export interface ContractAdapter {
  name: string;
  /** A new empty ledger, or (with `location`) the ledger at `location` opened again. */
  open(overrides?: Partial<IssuerSettings>, location?: string): Promise<{ ledger: IssuerLedger; store: LedgerStore; location: string }>;
}

const alice = entity('alice');
const bob = entity('bob');
const carol = entity('carol');

/** "101.2" at scale 2 -> 10120n */
const units = (text: string): bigint => {
  const parsed = parseAmount(text, 2);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
};

function newTransfer(sender: string, recipient: string, amount: bigint, counter: bigint): NewTransfer {
  return { sender, recipient, amount, fee: 0n, transactionId: `t${counter}`, counter, bodyHash: 'h', resumed: false };
}

export function describeLedgerContract(adapter: ContractAdapter): void {
  describe(`ledger contract on ${adapter.name}`, () => {

  describe('Figure 1 of the paper', () => {
    it('mints, transfers, and delivers the deposit with the transactionId', async () => {
      const { ledger } = await adapter.open();
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
      const { ledger } = await adapter.open({ fees });
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
      const { ledger } = await adapter.open({ fees });
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
      const { ledger } = await adapter.open({ fees });
      expect(expectResponse(await ledger.mint(alice, units('100'), 'issue')).fee).toBe(0n);
      expect(await ledger.balance(FEE_ACCOUNT)).toBe(0n);
    });
  });

  describe('balance rules', () => {
    it('answers insufficientFunds, moves nothing, and uses up the counter', async () => {
      const { ledger } = await adapter.open({
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
      const { ledger } = await adapter.open();
      const answer = await ledger.transfer({ sender: carol, request: request(bob, 1n, 't', 1n), resumed: false });
      expect(expectResponse(answer).result).toBe('insufficientFunds');
      expect((await ledger.totals()).sum).toBe(0n);
    });

    it('stops issuance at the cap', async () => {
      const { ledger } = await adapter.open({ issuanceCap: 500n });
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
      const { ledger } = await adapter.open();
      await ledger.mint(alice, 100n, 'issue');
      const refused = await ledger.transfer({ sender: alice, request: request(alice, 10n, 't', 1n), resumed: false });
      expect(refused).toMatchObject({ fault: 'invalidRecipient' });
      // The counter was not used up.
      expect(expectResponse(await ledger.transfer({ sender: alice, request: request(bob, 10n, 't', 1n), resumed: false })).result)
        .toBe('success');
      expect(await ledger.mint(TREASURY, 1n, 'x')).toMatchObject({ fault: 'invalidRecipient' });
    });

    it('refuses what the codec would have refused', async () => {
      const { ledger } = await adapter.open();
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
      const { ledger } = await adapter.open({ fees: { ...NO_FEES, transfer: { fixed: 2n, ratePpm: 0n } } });
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
      const { ledger } = await adapter.open();
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
      const { ledger } = await adapter.open();
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
      const { ledger } = await adapter.open();
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
      const { ledger } = await adapter.open();
      const started = performance.now();
      const answer = expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 100 }));
      const elapsed = performance.now() - started;
      expect(answer).toEqual({ deposits: [], fee: 0n, balance: 0n });
      expect(elapsed).toBeGreaterThanOrEqual(95);
      expect(elapsed).toBeLessThan(2000);
    });

    it('does not wake for another holder', async () => {
      const { ledger } = await adapter.open();
      await ledger.mint(alice, 100n, 'issue');
      const poll = ledger.getDeposits(bob, { millisecondsWait: 150 });
      await ledger.transfer({ sender: alice, request: request(carol, 7n, 'x', 1n), resumed: false });
      expect(expectDeposits(await poll).deposits).toEqual([]);
    });

    it('ack mode delivers a deposit again until it is acknowledged', async () => {
      const { ledger } = await adapter.open();
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
      const { ledger } = await adapter.open({ fees: { ...NO_FEES, getDeposits: 1n } });
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
      const { ledger } = await adapter.open();
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
      const { ledger } = await adapter.open({ fees: { ...NO_FEES, getDeposits: 5n } });
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

    it('a long-poll in acknowledgement mode writes nothing while it waits', async () => {
      const { ledger, store } = await adapter.open({ fees: { ...NO_FEES, getDeposits: 1n } });
      await ledger.mint(bob, 10n, 'one');
      await ledger.mint(bob, 5n, 'two');
      // acknowledging both finds nothing after them, so it waits, and the acknowledgement waits too
      const controller = new AbortController();
      const poll = ledger.getDeposits(bob, { millisecondsWait: 10_000, acknowledge: 2n }, controller.signal);
      await new Promise((resolve) => setTimeout(resolve, 100));
      controller.abort();
      expect(await poll).toMatchObject({ fault: 'unavailable' });
      expect(await store.account(bob)).toMatchObject({ balance: 15n, acknowledged: 0n });
    });

    it('a long-poll in acknowledgement mode is charged once, when it answers', async () => {
      const { ledger } = await adapter.open({ fees: { ...NO_FEES, getDeposits: 1n } });
      await ledger.mint(bob, 10n, 'one');
      expect(expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0, acknowledge: 0n }))).toMatchObject({ fee: 1n, balance: 9n });
      const poll = ledger.getDeposits(bob, { millisecondsWait: 10_000, acknowledge: 1n });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await ledger.mint(bob, 5n, 'two');
      const answer = expectDeposits(await poll);
      expect(answer.deposits.map((d) => d.transactionId)).toEqual(['two']);
      expect(answer).toMatchObject({ fee: 1n, balance: 13n });
      expect(await ledger.totals()).toMatchObject({ feeBalance: 2n, sum: 0n });
    });

    it('an abort ends the wait and changes nothing', async () => {
      const { ledger } = await adapter.open({ fees: { ...NO_FEES, getDeposits: 1n } });
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
      const { ledger } = await adapter.open();
      const started = performance.now();
      const poll = ledger.getDeposits(bob, { millisecondsWait: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      await ledger.close();
      expect(expectDeposits(await poll)).toEqual({ deposits: [], fee: 0n, balance: 0n });
      expect(performance.now() - started).toBeLessThan(1000);
      await expect(ledger.mint(alice, 1n, 'late')).rejects.toThrow(/closed/);
    });

    it('returns at most the per-response limit, oldest first', async () => {
      const { ledger } = await adapter.open();
      // 1005 concurrent mints of a treasury that has no account yet: each gets the next counter
      const minted = await Promise.all(Array.from({ length: 1005 }, (_, i) => ledger.mint(bob, 1n, `m${i}`)));
      expect(minted.filter((outcome) => expectResponse(outcome).result !== 'success')).toEqual([]);
      const first = expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 }));
      expect(first.deposits).toHaveLength(1000);
      expect(first.deposits[0]?.sequence).toBe(1n);
      const second = expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 }));
      expect(second.deposits.map((d) => d.sequence)).toEqual([1001n, 1002n, 1003n, 1004n, 1005n]);
    });
  });

    describe('store', () => {
      it('refuses a tx used after its work returned', async () => {
        const { store } = await adapter.open();
        let leaked: Parameters<Parameters<typeof store.transaction>[0]>[0] | undefined;
        await store.transaction(async (tx) => {
          leaked = tx;
        });
        await expect(leaked?.account(alice)).rejects.toThrow(/over/);
      });

      it('the schema refuses a transfer that would unbalance or reuse a counter', async () => {
        const { store } = await adapter.open();
        await store.transaction(async (tx) => tx.recordTransfer(newTransfer(TREASURY, alice, 5n, 1n)));
        await expect(
          store.transaction(async (tx) => tx.recordTransfer(newTransfer(TREASURY, alice, 5n, 1n))),
        ).rejects.toThrow(/counter/);
        await expect(
          store.transaction(async (tx) => tx.recordTransfer(newTransfer(alice, alice, 1n, 1n))),
        ).rejects.toThrow(/check/i);
        await expect(
          store.transaction(async (tx) => tx.recordTransfer(newTransfer(alice, bob, 0n, 1n))),
        ).rejects.toThrow(/check/i);
        expect(await store.totals(TREASURY)).toMatchObject({ sum: 0n, transfers: 1 });
      });

      it('keeps balances, counters and deposits across close and reopen', async () => {
        const first = await adapter.open();
        await first.ledger.mint(alice, 100n, 'issue');
        await first.ledger.transfer({ sender: alice, request: request(bob, 30n, 'pay', 1n), resumed: false });
        await first.ledger.close();

        const second = await adapter.open({}, first.location);
        expect(await second.ledger.balance(alice)).toBe(70n);
        expect(await second.ledger.balance(bob)).toBe(30n);
        const replay = await second.ledger.transfer({ sender: alice, request: request(bob, 30n, 'pay', 1n), resumed: false });
        expect(expectResponse(replay).replayed).toBe(true);
        expect(await second.ledger.transfer({ sender: alice, request: request(bob, 1n, 'x', 1n), resumed: false }))
          .toMatchObject({ fault: 'counterReused' });
        const deposits = expectDeposits(await second.ledger.getDeposits(bob, { millisecondsWait: 0 }));
        expect(deposits.deposits.map((d) => d.transactionId)).toEqual(['pay']);
        // The treasury's counter continues too.
        expect(expectResponse(await second.ledger.mint(bob, 1n, 'again')).result).toBe('success');
        expect(await second.ledger.totals()).toMatchObject({ sum: 0n, transfers: 3 });
      });
    });

    describe('statement', () => {
      it('lists entries whose deltas sum to the balance', async () => {
        const { ledger } = await adapter.open({
          fees: { transfer: { fixed: 1n, ratePpm: 10_000n }, resumedTransfer: { fixed: 0n, ratePpm: 0n }, getDeposits: 2n },
        });
        await ledger.mint(alice, 1000n, 'issue');
        await ledger.transfer({ sender: alice, request: request(bob, 100n, 'a', 1n), resumed: false });
        await ledger.transfer({ sender: alice, request: request(bob, 50n, 'b', 2n), resumed: true });
        await ledger.transfer({ sender: bob, request: request(alice, 20n, 'c', 1n), resumed: false });
        await ledger.getDeposits(alice, { millisecondsWait: 0 });
        await ledger.getDeposits(bob, { millisecondsWait: 0 });

        for (const account of [alice, bob, TREASURY, FEE_ACCOUNT]) {
          const entries = await ledger.statement(account);
          const sum = entries.reduce((total, e) => total + e.delta, 0n);
          expect(sum, account).toBe(await ledger.balance(account));
          expect(entries.length).toBeGreaterThan(0);
        }
        const aliceEntries = await ledger.statement(alice);
        expect(aliceEntries.map((e) => [e.kind, e.delta])).toEqual([
          ['transfer', 1000n],
          ['transfer', -100n],
          ['fee', -2n],
          ['transfer', -50n],
          ['transfer', 20n],
          ['getDepositsFee', -2n],
        ]);
        expect(aliceEntries[1]).toMatchObject({ counterparty: bob, transactionId: 'a', account: alice });
        expect(aliceEntries[1]?.at).toBeInstanceOf(Date);
        // Paging with afterId: ids are journal rows, and a transfer with a fee makes two lines of one row.
        expect(aliceEntries[2]?.id).toBe(aliceEntries[1]?.id);
        const page = await ledger.statement(alice, { afterId: aliceEntries[0]?.id ?? 0n, limit: 2 });
        expect(page.map((e) => e.delta)).toEqual([-100n, -2n, -50n]);
      });
    });

    describe('concurrency', () => {
      it('keeps every invariant under thousands of concurrent random operations', async () => {
        const { ledger, store } = await adapter.open({
          issuanceCap: 1_000_000n,
          fees: { transfer: { fixed: 1n, ratePpm: 10_000n }, resumedTransfer: { fixed: 0n, ratePpm: 5_000n }, getDeposits: 1n },
        });
        const random = prng(20240601);
        const accounts: EntityId[] = Array.from({ length: 20 }, (_, i) => entity(`holder-${i}`));
        const counters = new Map<EntityId, bigint>();
        const pick = (): EntityId => accounts[Math.floor(random() * accounts.length)] as EntityId;
        let successes = 0;
        let refusals = 0;
        let outOfOrder = 0;

        const operations = Array.from({ length: 3000 }, (_, i) => async () => {
          const roll = random();
          if (roll < 0.1) {
            const outcome = await ledger.mint(pick(), BigInt(1 + Math.floor(random() * 5000)), `mint-${i}`);
            if (!('fault' in outcome) && outcome.response.result === 'success') successes += 1;
            return;
          }
          if (roll < 0.2) {
            const holder = pick();
            const ack = random() < 0.5 ? { acknowledge: 0n } : {};
            expectDeposits(await ledger.getDeposits(holder, { millisecondsWait: 0, ...ack }));
            return;
          }
          const sender = pick();
          let recipient = pick();
          while (recipient === sender) recipient = pick();
          const counter = (counters.get(sender) ?? 0n) + 1n;
          counters.set(sender, counter);
          const amount = BigInt(1 + Math.floor(random() * 2000));
          const outcome = await ledger.transfer({
            sender,
            request: request(recipient, amount, `op-${i}`, counter),
            resumed: random() < 0.3,
          });
          // Lanes send one sender's counters concurrently: a store that runs transactions in
          // parallel may commit counter n+1 first, and n is then rightly refused as too low.
          if ('fault' in outcome) {
            if (outcome.fault === 'counterTooLow') outOfOrder += 1;
            else refusals += 1;
          }
          else if (outcome.response.result === 'success') successes += 1;
        });
        // 64 callers at a time, each running its share of the operations in order.
        const lanes = 64;
        await Promise.all(
          Array.from({ length: lanes }, async (_, lane) => {
            for (let i = lane; i < operations.length; i += lanes) await operations[i]?.();
          }),
        );

        const totals = await ledger.totals();
        expect(totals.sum).toBe(0n);
        expect(totals.negativeAccounts).toEqual([]);
        expect(totals.transfers).toBe(successes);
        expect(refusals).toBe(0);
        expect(outOfOrder).toBeLessThan(300);
        expect(successes).toBeGreaterThan(1000);
        expect(totals.treasuryBalance).toBeGreaterThanOrEqual(-1_000_000n);
        for (const account of accounts) {
          const balance = await ledger.balance(account);
          expect(balance).toBeGreaterThanOrEqual(0n);
          const entries = await store.statement(account, { limit: 10_000 });
          expect(entries.reduce((total, e) => total + e.delta, 0n)).toBe(balance);
        }
      }, 90_000); // generous: PostgreSQL on a busy 2-core machine
    });
  });
}

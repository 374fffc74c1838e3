// A waiting long-poll answered inside the transaction of the transfer that brings its deposit
// (SQLite has tx.isolated): one commit for both, and nothing lost when that commit is slow,
// fails, or the answer itself fails.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createIssuerLedger } from './issuer.js';
import { openSqliteStore, type SqliteLedgerStore } from './sqlite-store.js';
import {
  NO_FEES,
  closeAll,
  entity,
  expectDeposits,
  expectResponse,
  openLedger,
  request,
  settings,
  tempDir,
} from './test-support.js';
import type { IssuerLedger, IssuerSettings, LedgerStore, LedgerTx } from './types.js';

const alice = entity('alice');
const bob = entity('bob');

const wrappedLedgers: IssuerLedger[] = [];
afterEach(async () => {
  await Promise.allSettled(wrappedLedgers.splice(0).map((ledger) => ledger.close()));
  await closeAll();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts long-polls and resolves once they are waiting: their empty queries committed. */
async function waitingPoll(store: SqliteLedgerStore, start: () => void): Promise<void> {
  const before = store.stats().commits;
  start();
  while (store.stats().commits === before) await sleep(1);
  await sleep(5); // from the commit to the wait is a few microtasks
}

/** A ledger on SQLite whose every transaction runs `wrap(work, tx)` instead of `work(tx)`. */
function openWrapped(
  wrap: <T>(work: (tx: LedgerTx) => Promise<T>, tx: LedgerTx) => Promise<T>,
  overrides: Partial<IssuerSettings> = {},
): { ledger: IssuerLedger; store: SqliteLedgerStore } {
  const store = openSqliteStore(join(tempDir(), 'ledger.db'));
  const wrapped: LedgerStore = { ...store, transaction: (work, options) => store.transaction((tx) => wrap(work, tx), options) };
  const ledger = createIssuerLedger(wrapped, settings(overrides));
  wrappedLedgers.push(ledger);
  return { ledger, store };
}

/** The same, acting after each work. */
const after = (act: () => Promise<void>) => async <T>(work: (tx: LedgerTx) => Promise<T>, tx: LedgerTx): Promise<T> => {
  const value = await work(tx);
  await act();
  return value;
};

describe('a long-poll answered in the commit that brings its deposit', () => {
  it('shares the transfer commit, acknowledges what it delivers, and charges its fee', async () => {
    const fees = { ...NO_FEES, getDeposits: 2n };
    const { ledger, store } = openLedger({ fees });
    await ledger.mint(alice, 100n, 'issue');
    let poll!: ReturnType<IssuerLedger['getDeposits']>;
    await waitingPoll(store, () => {
      poll = ledger.getDeposits(bob, { millisecondsWait: 10_000 });
    });
    const before = store.stats().commits;
    expectResponse(await ledger.transfer({ sender: alice, request: request(bob, 7n, 'pay', 1n), resumed: false }));
    const answer = expectDeposits(await poll);
    expect(store.stats().commits - before).toBe(1);
    expect(answer.deposits.map((d) => [d.transactionId, d.amount, d.sequence])).toEqual([['pay', 7n, 1n]]);
    expect(answer).toMatchObject({ fee: 2n, balance: 5n });

    // delivered means acknowledged (paper mode): nothing comes again
    expect(expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 })).deposits).toEqual([]);
    expect(await ledger.balance(bob)).toBe(3n); // 7 - 2 - 2 (the second answer's fee)
    expect((await ledger.totals()).sum).toBe(0n);
  });

  it('in acknowledgement mode delivers without acknowledging', async () => {
    const { ledger, store } = openLedger();
    await ledger.mint(alice, 100n, 'issue');
    let poll!: ReturnType<IssuerLedger['getDeposits']>;
    await waitingPoll(store, () => {
      poll = ledger.getDeposits(bob, { millisecondsWait: 10_000, acknowledge: 0n });
    });
    await ledger.transfer({ sender: alice, request: request(bob, 7n, 'pay', 1n), resumed: false });
    expect(expectDeposits(await poll).deposits.map((d) => d.transactionId)).toEqual(['pay']);
    const again = await ledger.getDeposits(bob, { millisecondsWait: 0, acknowledge: 0n });
    expect(expectDeposits(again).deposits.map((d) => d.transactionId)).toEqual(['pay']);
  });

  it('keeps the answer when the wait ends or the request aborts before the commit returns', async () => {
    let slow = false;
    const { ledger, store } = openWrapped(
      after(async () => {
        if (slow) await sleep(150); // the commit is slow: the 40 ms wait ends and the abort comes meanwhile
      }),
    );
    await ledger.mint(alice, 100n, 'issue');
    const abort = new AbortController();
    let timed!: ReturnType<IssuerLedger['getDeposits']>;
    let aborted!: ReturnType<IssuerLedger['getDeposits']>;
    await waitingPoll(store, () => {
      // answered in this order: the acknowledgement-mode one first, so both carry the deposit
      aborted = ledger.getDeposits(bob, { millisecondsWait: 10_000, acknowledge: 0n }, abort.signal);
      timed = ledger.getDeposits(bob, { millisecondsWait: 40 });
    });
    slow = true;
    const transfer = ledger.transfer({ sender: alice, request: request(bob, 7n, 'pay', 1n), resumed: false });
    await sleep(60);
    abort.abort();
    expectResponse(await transfer);
    // each was answered in the transfer's commit: the answer is what that commit wrote
    expect(expectDeposits(await aborted).deposits.map((d) => d.transactionId)).toEqual(['pay']);
    expect(expectDeposits(await timed).deposits.map((d) => d.transactionId)).toEqual(['pay']);
    slow = false;
    expect(expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 })).deposits).toEqual([]);
  });

  it('an answer that fails is undone alone: the transfer commits and the poll gets the deposit after', async () => {
    let failDelivery = true;
    // the first answer written (inside the transfer's transaction) fails after its writes
    const { ledger, store } = openWrapped(
      (work, tx) =>
        work(
          new Proxy(tx, {
            get(target, name) {
              if (name === 'deliverDeposits' && failDelivery) {
                return async (...args: Parameters<LedgerTx['deliverDeposits']>) => {
                  const deposits = await target.deliverDeposits(...args);
                  if (deposits.length === 0) return deposits; // the poll's own query: it waits
                  failDelivery = false;
                  throw new Error('injected');
                };
              }
              const value: unknown = Reflect.get(target, name, target);
              return typeof value === 'function' ? value.bind(target) : value;
            },
          }),
        ),
      { fees: { ...NO_FEES, getDeposits: 1n } },
    );
    await ledger.mint(alice, 100n, 'issue');
    let poll!: ReturnType<IssuerLedger['getDeposits']>;
    await waitingPoll(store, () => {
      poll = ledger.getDeposits(bob, { millisecondsWait: 10_000 });
    });
    expect(expectResponse(await ledger.transfer({ sender: alice, request: request(bob, 7n, 'pay', 1n), resumed: false })).result).toBe(
      'success',
    );
    const answer = expectDeposits(await poll);
    expect(failDelivery).toBe(false);
    expect(answer.deposits.map((d) => d.transactionId)).toEqual(['pay']);
    expect(answer).toMatchObject({ fee: 1n, balance: 6n });
    expect((await ledger.totals()).sum).toBe(0n);
  });

  it('a transfer whose transaction fails takes the answer with it: the poll waits for the retransmission', async () => {
    let failTransfer = false;
    const { ledger, store } = openWrapped(
      after(async () => {
        if (failTransfer) {
          failTransfer = false;
          throw new Error('the commit failed');
        }
      }),
    );
    await ledger.mint(alice, 100n, 'issue');
    let poll!: ReturnType<IssuerLedger['getDeposits']>;
    await waitingPoll(store, () => {
      poll = ledger.getDeposits(bob, { millisecondsWait: 10_000 });
    });
    failTransfer = true;
    const pay = { sender: alice, request: request(bob, 7n, 'pay', 1n), resumed: false };
    await expect(ledger.transfer(pay)).rejects.toThrow('the commit failed');
    expect(await ledger.balance(bob)).toBe(0n);
    await sleep(20);
    expectResponse(await ledger.transfer(pay)); // the client retransmits
    expect(expectDeposits(await poll).deposits.map((d) => [d.transactionId, d.sequence])).toEqual([['pay', 1n]]);
    expect(expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 })).deposits).toEqual([]);
    expect((await ledger.totals()).sum).toBe(0n);
  });

  it('a holder who hangs up while its answer is being written gets nothing written', async () => {
    const abort = new AbortController();
    let hangUp = false;
    const { ledger } = openWrapped(async (work, tx) => {
      if (hangUp) abort.abort(); // the abort lands inside the poll's transaction, before its answer
      return work(tx);
    });
    await ledger.mint(alice, 100n, 'issue');
    await ledger.transfer({ sender: alice, request: request(bob, 7n, 'pay', 1n), resumed: false });
    hangUp = true;
    const gone = await ledger.getDeposits(bob, { millisecondsWait: 10_000 }, abort.signal);
    hangUp = false;
    expect(gone).toMatchObject({ fault: 'unavailable' });
    // not acknowledged: the next request gets the deposit
    expect(expectDeposits(await ledger.getDeposits(bob, { millisecondsWait: 0 })).deposits.map((d) => d.transactionId)).toEqual(['pay']);
  });
});

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { EntityId } from '@lcp/protocol';
import { SCHEMA_VERSION } from './migrations.js';
import { openSqliteStore } from './sqlite-store.js';
import {
  TREASURY,
  closeAll,
  entity,
  expectDeposits,
  expectResponse,
  openLedger,
  prng,
  request,
  tempDir,
} from './test-support.js';
import { FEE_ACCOUNT, type NewTransfer } from './types.js';

const alice = entity('alice');
const bob = entity('bob');

afterEach(closeAll);

function newTransfer(sender: string, recipient: string, amount: bigint, counter: bigint): NewTransfer {
  return { sender, recipient, amount, fee: 0n, transactionId: `t${counter}`, counter, bodyHash: 'h', resumed: false };
}

describe('group commit', () => {
  it('commits 200 concurrent transfers in far fewer commits', async () => {
    const { ledger, store } = openLedger();
    const senders = Array.from({ length: 200 }, (_, i) => entity(`sender-${i}`));
    await Promise.all(senders.map((sender, i) => ledger.mint(sender, 100n, `fund-${i}`)));
    const before = store.stats().commits;
    const outcomes = await Promise.all(
      senders.map((sender, i) =>
        ledger.transfer({ sender, request: request(bob, 10n, `pay-${i}`, 1n), resumed: false }),
      ),
    );
    const commits = store.stats().commits - before;
    expect(outcomes.every((o) => expectResponse(o).result === 'success')).toBe(true);
    expect(commits).toBeGreaterThan(0);
    expect(commits).toBeLessThanOrEqual(10);
    expect(store.stats().largestBatch).toBeGreaterThan(20);
    expect(await ledger.balance(bob)).toBe(2000n);
  });

  it('rolls back only the work that threw; the others share one commit', async () => {
    const { store, path } = openLedger();
    const before = store.stats().commits;
    const boom = new Error('boom');
    const results = await Promise.allSettled([
      store.transaction(async (tx) => tx.recordTransfer(newTransfer(TREASURY, alice, 5n, 1n))),
      store.transaction(async (tx) => {
        await tx.recordTransfer(newTransfer(TREASURY, bob, 7n, 2n));
        throw boom;
      }),
      store.transaction(async (tx) => {
        // Sees the first work's writes, not the second's.
        const treasury = await tx.account(TREASURY);
        await tx.recordTransfer(newTransfer(TREASURY, alice, 1n, 2n));
        return treasury?.balance;
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results[1]).toMatchObject({ reason: boom });
    expect(results[2]).toMatchObject({ value: -5n });
    expect(store.stats().commits - before).toBe(1);
    const totals = await store.totals(TREASURY);
    expect(totals).toMatchObject({ sum: 0n, transfers: 2, treasuryBalance: -6n });
    // What the failed work wrote is gone from the file, not just hidden.
    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM accounts WHERE id = ?').get(bob)).toEqual({ n: 0 });
      expect(db.prepare('SELECT count(*) AS n FROM transfers').get()).toEqual({ n: 2 });
    } finally {
      db.close();
    }
  });

  it('refuses a tx used after its work returned', async () => {
    const { store } = openLedger();
    let leaked: Parameters<Parameters<typeof store.transaction>[0]>[0] | undefined;
    await store.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked?.account(alice)).rejects.toThrow(/over/);
  });

  it('the schema refuses a transfer that would unbalance or reuse a counter', async () => {
    const { store } = openLedger();
    await store.transaction(async (tx) => tx.recordTransfer(newTransfer(TREASURY, alice, 5n, 1n)));
    await expect(
      store.transaction(async (tx) => tx.recordTransfer(newTransfer(TREASURY, alice, 5n, 1n))),
    ).rejects.toThrow(/counter/);
    await expect(
      store.transaction(async (tx) => tx.recordTransfer(newTransfer(alice, alice, 1n, 1n))),
    ).rejects.toThrow(/CHECK/);
    await expect(
      store.transaction(async (tx) => tx.recordTransfer(newTransfer(alice, bob, 0n, 1n))),
    ).rejects.toThrow(/CHECK/);
    expect(await store.totals(TREASURY)).toMatchObject({ sum: 0n, transfers: 1 });
  });
});

describe('durability', () => {
  it('keeps balances, counters and deposits across close and reopen', async () => {
    const dir = tempDir();
    const path = join(dir, 'ledger.db');
    const first = openLedger({}, {}, path);
    await first.ledger.mint(alice, 100n, 'issue');
    await first.ledger.transfer({ sender: alice, request: request(bob, 30n, 'pay', 1n), resumed: false });
    await first.ledger.close();

    const second = openLedger({}, {}, path);
    expect(second.store.schemaVersion).toBe(SCHEMA_VERSION);
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
    await second.ledger.close();

    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare('SELECT version FROM schema_migrations').all()).toEqual([{ version: 1 }]);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('works in memory too', async () => {
    const store = openSqliteStore(':memory:');
    await store.transaction(async (tx) => tx.recordTransfer(newTransfer(TREASURY, alice, 5n, 1n)));
    expect(await store.totals(TREASURY)).toMatchObject({ sum: 0n, transfers: 1, accounts: 2 });
    expect(await store.statement(alice)).toHaveLength(1);
    await store.close();
    await expect(store.totals(TREASURY)).rejects.toThrow(/closed/);
  });
});

describe('statement', () => {
  it('lists entries whose deltas sum to the balance', async () => {
    const { ledger } = openLedger({
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
    const { ledger, store } = openLedger({
      issuanceCap: 1_000_000n,
      fees: { transfer: { fixed: 1n, ratePpm: 10_000n }, resumedTransfer: { fixed: 0n, ratePpm: 5_000n }, getDeposits: 1n },
    });
    const random = prng(20240601);
    const accounts: EntityId[] = Array.from({ length: 20 }, (_, i) => entity(`holder-${i}`));
    const counters = new Map<EntityId, bigint>();
    const pick = (): EntityId => accounts[Math.floor(random() * accounts.length)] as EntityId;
    let successes = 0;
    let refusals = 0;

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
      if ('fault' in outcome) refusals += 1;
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
    expect(successes).toBeGreaterThan(1000);
    expect(totals.treasuryBalance).toBeGreaterThanOrEqual(-1_000_000n);
    for (const account of accounts) {
      const balance = await ledger.balance(account);
      expect(balance).toBeGreaterThanOrEqual(0n);
      const entries = await store.statement(account, { limit: 10_000 });
      expect(entries.reduce((total, e) => total + e.delta, 0n)).toBe(balance);
    }
    expect(store.stats().commits).toBeLessThan(3000);
  }, 20_000);
});

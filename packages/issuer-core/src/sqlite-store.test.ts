// SQLite-only behaviour: group commit, what the file holds, :memory:. The rules and the port's
// guarantees are in the shared contract (test-contract.ts).
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from './migrations.js';
import { openSqliteStore } from './sqlite-store.js';
import {
  TREASURY,
  closeAll,
  entity,
  expectDeposits,
  expectResponse,
  openLedger,
  request,
  tempDir,
} from './test-support.js';
import type { NewTransfer } from './types.js';

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

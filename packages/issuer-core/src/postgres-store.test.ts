// PostgreSQL-only behaviour: several nodes (stores) on one database, locks in a fixed order,
// wake-ups across nodes (and without the notification), shared TLS ticket keys, durability.
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { EntityId } from '@lcp/protocol';
import { createIssuerLedger } from './issuer.js';
import { NotDurableError, openPostgresStore, type PostgresLedgerStore, type PostgresStoreOptions } from './postgres-store.js';
import { createDatabase } from './bench/postgres-container.js';
import { entity, expectDeposits, expectResponse, request, settings } from './test-support.js';
import type { IssuerLedger } from './types.js';

const alice = entity('alice');
const bob = entity('bob');
const opened: IssuerLedger[] = [];

afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((ledger) => ledger.close()));
});

interface Node {
  ledger: IssuerLedger;
  store: PostgresLedgerStore;
}

/** `count` issuer nodes on one new database. */
async function nodes(count: number, options: Partial<PostgresStoreOptions> = {}): Promise<{ url: string; nodes: Node[] }> {
  const url = await createDatabase(inject('postgresUrl'));
  const result: Node[] = [];
  for (let i = 0; i < count; i += 1) {
    const store = await openPostgresStore({ connectionString: url, poolSize: 16, nodeId: `node-${i}`, ...options });
    const ledger = createIssuerLedger(store, settings({ issuanceCap: 10n ** 15n }));
    opened.push(ledger);
    result.push({ ledger, store });
  }
  return { url, nodes: result };
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('several nodes on one database', () => {
  it('a retransmission on another node returns the stored response and moves nothing', async () => {
    const { nodes: [a, b] } = await nodes(2);
    await a!.ledger.mint(alice, 1000n, 'issue');
    const first = expectResponse(await a!.ledger.transfer({ sender: alice, request: request(bob, 300n, 'pay', 1n), resumed: false }));
    const again = expectResponse(await b!.ledger.transfer({ sender: alice, request: request(bob, 300n, 'pay', 1n), resumed: false }));
    expect(first).toMatchObject({ result: 'success', replayed: false });
    expect(again).toMatchObject({ result: 'success', replayed: true });
    expect(await b!.ledger.transfer({ sender: alice, request: request(bob, 1n, 'other', 1n), resumed: false })).toMatchObject({
      fault: 'counterReused',
    });
    expect(await a!.ledger.balance(alice)).toBe(700n);
    expect(await b!.ledger.totals()).toMatchObject({ sum: 0n, transfers: 2 });
  });

  it('a deposit committed on node A wakes a long-poll waiting on node B', async () => {
    const { nodes: [a, b] } = await nodes(2);
    await a!.ledger.mint(alice, 1000n, 'issue');
    const started = performance.now();
    const poll = b!.ledger.getDeposits(bob, { millisecondsWait: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expectResponse(await a!.ledger.transfer({ sender: alice, request: request(bob, 5n, 'wake-b', 1n), resumed: false }));
    const got = expectDeposits(await poll);
    expect(got.deposits.map((d) => d.transactionId)).toEqual(['wake-b']);
    expect(performance.now() - started).toBeLessThan(5_000); // far below the 20 s wait
    expect(b!.store.stats().received).toBeGreaterThan(0);
  });

  it('delivers a deposit committed while the notification connection was down', async () => {
    const { url, nodes: [a, b] } = await nodes(2, { listenRetryMs: 1500 });
    await a!.ledger.mint(alice, 1000n, 'issue');
    await until(() => b!.store.stats().received > 0); // the mint's notification is in
    const poll = b!.ledger.getDeposits(bob, { millisecondsWait: 25_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const receivedBefore = b!.store.stats().received;
    // cut node B's LISTEN connection; it comes back only after 1.5 s
    const [cut] = await sql<{ ok: boolean }>(
      url,
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
       WHERE application_name = 'lcp-issuer node-1' AND query LIKE 'LISTEN%'`,
    );
    expect(cut?.ok).toBe(true);
    await until(() => !b!.store.stats().listening);
    const started = performance.now();
    expectResponse(await a!.ledger.transfer({ sender: alice, request: request(bob, 5n, 'while-down', 1n), resumed: false }));
    const got = expectDeposits(await poll);
    expect(got.deposits.map((d) => d.transactionId)).toEqual(['while-down']);
    expect(performance.now() - started).toBeLessThan(10_000);
    // no notification carried it: the waiters queried again once LISTEN was back
    expect(b!.store.stats().received).toBe(receivedBefore);
    expect(b!.store.stats().listens).toBe(2);
  });

  it('opposite transfers between hot accounts on two nodes: no deadlock, no failed request', async () => {
    const { nodes: pair } = await nodes(2);
    const [a, b] = pair as [Node, Node];
    const hot: EntityId[] = Array.from({ length: 10 }, (_, i) => entity(`hot-${i}`));
    for (const [i, h] of hot.entries()) await a.ledger.mint(h, 1_000_000n, `fund-${i}`);
    // Each hot account sends its own transfers in order (a holder's counters are sequential);
    // all ten send at once from both nodes, half of each pair's transfers in each direction.
    const rounds = 30;
    const failures: string[] = [];
    await Promise.all(
      hot.map(async (sender, i) => {
        for (let k = 1; k <= rounds; k += 1) {
          const recipient = hot[(i + (k % 2 === 0 ? 1 : hot.length - 1)) % hot.length] as EntityId;
          const node = k % 2 === 0 ? a : b;
          const outcome = await node.ledger.transfer({ sender, request: request(recipient, 7n, `h${i}-${k}`, BigInt(k)), resumed: false });
          if ('fault' in outcome || outcome.response.result !== 'success') failures.push(`h${i}-${k}: ${JSON.stringify(outcome)}`);
        }
      }),
    );
    // and cold payers pay the hot accounts at the same time, also through both nodes
    const cold = Array.from({ length: 40 }, (_, i) => entity(`cold-${i}`));
    for (const [i, c] of cold.entries()) await b.ledger.mint(c, 1000n, `cold-fund-${i}`);
    await Promise.all(
      cold.map(async (sender, i) => {
        for (let k = 1; k <= 5; k += 1) {
          const node = (i + k) % 2 === 0 ? a : b;
          const outcome = await node.ledger.transfer({ sender, request: request(hot[k % hot.length] as EntityId, 3n, `c${i}-${k}`, BigInt(k)), resumed: false });
          if ('fault' in outcome || outcome.response.result !== 'success') failures.push(`c${i}-${k}`);
        }
      }),
    );
    expect(failures).toEqual([]);
    expect(a.store.stats().deadlocks + b.store.stats().deadlocks).toBe(0);
    const totals = await a.ledger.totals();
    expect(totals).toMatchObject({ sum: 0n, negativeAccounts: [], transfers: 10 + 10 * rounds + 40 + 200 });
    let hotTotal = 0n;
    for (const h of hot) hotTotal += await b.ledger.balance(h);
    expect(hotTotal).toBe(10n * 1_000_000n + 200n * 3n);
  });

  it('shares one session ticket key per epoch among the nodes and rotates it', async () => {
    const { url, nodes: [a, b] } = await nodes(2);
    const key = await a!.store.ticketKey(100n);
    expect(key).toHaveLength(48);
    expect((await b!.store.ticketKey(100n)).equals(key)).toBe(true);
    const next = await b!.store.ticketKey(101n);
    expect(next.equals(key)).toBe(false);
    expect((await a!.store.ticketKey(101n)).equals(next)).toBe(true);
    await a!.store.ticketKey(105n);
    const epochs = await sql<{ epoch: string }>(url, 'SELECT epoch::text FROM tls_ticket_keys ORDER BY epoch');
    expect(epochs.map((row) => row.epoch)).toEqual(['105', '106']); // older keys are deleted
  });
});

describe('group commit', () => {
  it('concurrent transfers share commits, each with its own answer', async () => {
    const { nodes: [a] } = await nodes(1, { writers: 2 });
    const payers = Array.from({ length: 80 }, (_, i) => entity(`payer-${i}`));
    for (const payer of payers) await a!.ledger.mint(payer, 100n, `fund-${payer}`);
    const commitsBefore = a!.store.stats().commits;
    // at once: even payers pay bob 60, odd ones ask for more than they have
    const outcomes = await Promise.all(
      payers.map((payer, i) =>
        a!.ledger.transfer({ sender: payer, request: request(bob, i % 2 === 0 ? 60n : 101n, 'pay', 1n), resumed: false }),
      ),
    );
    const results = outcomes.map((outcome) => expectResponse(outcome).result);
    expect(results).toEqual(payers.map((_, i) => (i % 2 === 0 ? 'success' : 'insufficientFunds')));
    const stats = a!.store.stats();
    expect(stats.commits - commitsBefore).toBeLessThan(80);
    expect(stats.batchedWorks).toBeGreaterThan(0);
    expect(await a!.ledger.balance(bob)).toBe(40n * 60n);
    expect(await a!.ledger.totals()).toMatchObject({ sum: 0n, transfers: 80 + 40, negativeAccounts: [] });
  });

  it('works that arrive together are shared out among the free writers', async () => {
    const { nodes: [a] } = await nodes(1, { writers: 2 });
    const payers = Array.from({ length: 16 }, (_, i) => entity(`sharer-${i}`));
    for (const payer of payers) await a!.ledger.mint(payer, 100n, `fund-${payer}`);
    const before = a!.store.stats();
    // 16 works in one turn of the event loop, 2 writers free: two batches of 8, not one alone and then 15
    const outcomes = await Promise.all(
      payers.map((payer) => a!.ledger.transfer({ sender: payer, request: request(bob, 1n, 'pay', 1n), resumed: false })),
    );
    expect(outcomes.map((outcome) => expectResponse(outcome).result)).toEqual(payers.map(() => 'success'));
    const after = a!.store.stats();
    expect(after.commits - before.commits).toBe(2);
    expect(after.batchedWorks - before.batchedWorks).toBe(16);
    expect(after.largestBatch).toBe(8);
  });

  it('a work that throws inside a batch fails alone; the batch\'s other works commit', async () => {
    const { url, nodes: [a] } = await nodes(1, { writers: 1 });
    await a!.ledger.mint(alice, 1000n, 'issue');
    const payments = Array.from({ length: 30 }, (_, i) =>
      a!.ledger.transfer({ sender: alice, request: request(bob, 1n, `pay-${i}`, BigInt(i + 1)), resumed: false }),
    );
    const failing = a!.store.transaction(
      async (tx) => {
        await tx.recordRequest(bob, 77n, { bodyHash: 'x'.repeat(64), result: 'insufficientFunds', fee: 0n });
        throw new Error('this work fails after it wrote');
      },
      { lock: [bob] },
    );
    await expect(failing).rejects.toThrow('this work fails after it wrote');
    const results = (await Promise.all(payments)).map((outcome) => expectResponse(outcome).result);
    expect(results.every((r) => r === 'success')).toBe(true);
    expect(a!.store.stats().batchesRedone).toBeGreaterThan(0);
    expect(await sql(url, "SELECT 1 FROM requests WHERE counter = 77")).toEqual([]);
    expect(await a!.ledger.balance(bob)).toBe(30n);
    expect((await a!.ledger.totals()).sum).toBe(0n);
  });

  it('a work that hides a failed statement is not answered as committed: COMMIT answered ROLLBACK', async () => {
    const { nodes: [a] } = await nodes(1, { writers: 1 });
    await a!.ledger.mint(alice, 1000n, 'issue');
    const payments = Array.from({ length: 20 }, (_, i) =>
      a!.ledger.transfer({ sender: alice, request: request(bob, 1n, `pay-${i}`, BigInt(i + 1)), resumed: false }),
    );
    const hiding = a!.store.transaction(
      async (tx) => {
        try {
          // an amount of 0 breaks a CHECK: PostgreSQL aborts the transaction
          await tx.recordTransfer({
            sender: bob, recipient: alice, amount: 0n, fee: 0n, transactionId: 'zero', counter: 1n, bodyHash: 'z'.repeat(64), resumed: false,
          });
        } catch {
          // swallowed: the work returns as if all went well
        }
        return 'looks fine';
      },
      { lock: [alice, bob] },
    );
    await expect(hiding).rejects.toThrow(/rolled back \(COMMIT answered ROLLBACK\)/);
    const results = (await Promise.all(payments)).map((outcome) => expectResponse(outcome).result);
    expect(results.every((r) => r === 'success')).toBe(true);
    expect(await a!.ledger.balance(bob)).toBe(20n);
    expect((await a!.ledger.totals()).sum).toBe(0n);
  });
});

describe('durability', () => {
  it('refuses a database that acknowledges commits before they are durable, unless told', async () => {
    const url = await createDatabase(inject('postgresUrl'));
    const name = new URL(url).pathname.slice(1);
    await sql(url, `ALTER DATABASE ${name} SET synchronous_commit = off`);
    await expect(openPostgresStore({ connectionString: url })).rejects.toThrow(NotDurableError);
    await expect(openPostgresStore({ connectionString: url })).rejects.toThrow(/synchronous_commit=off/);
    const store = await openPostgresStore({ connectionString: url, allowNonDurable: true });
    try {
      expect(store.durability).toMatchObject({ durable: false, synchronousCommit: 'off', fsync: 'on' });
    } finally {
      await store.close();
    }
    await sql(url, `ALTER DATABASE ${name} RESET synchronous_commit`);
    const durable = await openPostgresStore({ connectionString: url });
    expect(durable.durability).toMatchObject({ durable: true, synchronousCommit: 'on' });
    await durable.close();
  });

  it('two nodes starting at once migrate once', async () => {
    const url = await createDatabase(inject('postgresUrl'));
    const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore({ connectionString: url, poolSize: 2 })));
    expect(stores.map((s) => s.schemaVersion)).toEqual([1, 1, 1]);
    expect(await sql(url, 'SELECT version FROM schema_migrations')).toEqual([{ version: 1 }]);
    await Promise.all(stores.map((s) => s.close()));
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EntityId } from '@lcp/protocol';
import type { IssuerLedger } from './types.js';
import { startLedgerWorker } from './worker-ledger.js';

const id = (c: string) => c.repeat(64) as EntityId;
const treasury = id('a');
let dir: string;
let ledger: IssuerLedger;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lcp-worker-'));
  ledger = await startLedgerWorker({
    databasePath: join(dir, 'ledger.sqlite'),
    settings: {
      treasury,
      scale: 2,
      issuanceCap: 1_000_000n,
      fees: { transfer: { fixed: 0n, ratePpm: 12000n }, resumedTransfer: { fixed: 0n, ratePpm: 12000n }, getDeposits: 0n },
    },
  });
});
afterAll(async () => {
  await ledger.close();
  await rm(dir, { recursive: true, force: true });
});

it('runs the ledger in a worker thread: transfers, long-polls woken by commits, aborts', async () => {
  await ledger.mint(id('b'), 200_00n, 'fund');
  const waiting = ledger.getDeposits(id('c'), { millisecondsWait: 5000 });
  const outcome = await ledger.transfer({
    sender: id('b'),
    request: { recipient: id('c'), amount: 100_00n, transactionId: 'w1', messageCounter: 1n },
    resumed: false,
  });
  expect(outcome).toEqual({ response: { result: 'success', fee: 1_20n }, replayed: false });
  expect(await waiting).toMatchObject({ deposits: [{ transactionId: 'w1', amount: 100_00n }], balance: 100_00n });
  expect(await ledger.balance(id('b'))).toBe(200_00n - 101_20n);
  expect((await ledger.totals()).sum).toBe(0n);

  const abort = new AbortController();
  const aborted = ledger.getDeposits(id('d'), { millisecondsWait: 10_000 }, abort.signal);
  setTimeout(() => abort.abort(), 20);
  expect(await aborted).toMatchObject({ fault: 'unavailable' });
  expect((await ledger.statement(id('c')))[0]).toMatchObject({ delta: 100_00n, transactionId: 'w1' });
});

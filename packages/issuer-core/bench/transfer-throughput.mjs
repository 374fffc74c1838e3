// Raw transfers/s through ledger.transfer with N concurrent callers on a temp-file database.
// Run after a build: node bench/transfer-throughput.mjs [callers=32] [seconds=3] [synchronous=FULL]
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIssuerLedger, openSqliteStore } from '../dist/index.js';

const callers = Number(process.argv[2] ?? 32);
const seconds = Number(process.argv[3] ?? 3);
const synchronous = process.argv[4] ?? 'FULL';
const id = (name) => createHash('sha256').update(name).digest('hex');

const dir = mkdtempSync(join(tmpdir(), 'lcp-bench-'));
const store = openSqliteStore(join(dir, 'bench.db'), { synchronous });
const treasury = id('treasury');
const ledger = createIssuerLedger(store, {
  treasury,
  scale: 2,
  issuanceCap: 10n ** 15n,
  fees: { transfer: { fixed: 1n, ratePpm: 1000n }, resumedTransfer: { fixed: 0n, ratePpm: 500n }, getDeposits: 0n },
});
const senders = Array.from({ length: callers }, (_, i) => id(`sender-${i}`));
const recipients = Array.from({ length: 100 }, (_, i) => id(`recipient-${i}`));
await Promise.all(senders.map((s, i) => ledger.mint(s, 10n ** 12n, `fund-${i}`)));

const before = store.stats().commits;
const end = performance.now() + seconds * 1000;
let done = 0;
const started = performance.now();
await Promise.all(
  senders.map(async (sender, lane) => {
    for (let counter = 1n; performance.now() < end; counter += 1n) {
      const recipient = recipients[(lane * 7 + Number(counter)) % recipients.length];
      const outcome = await ledger.transfer({
        sender,
        request: { recipient, amount: 100n, transactionId: `b-${lane}-${counter}`, messageCounter: counter },
        resumed: true,
      });
      if ('fault' in outcome || outcome.response.result !== 'success') throw new Error(JSON.stringify(outcome));
      done += 1;
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
const commits = store.stats().commits - before;
const totals = await ledger.totals();
console.log(
  `${callers} callers, synchronous=${synchronous}: ${done} transfers in ${elapsed.toFixed(2)} s = ` +
    `${Math.round(done / elapsed)} transfers/s; ${commits} commits (${(done / commits).toFixed(1)} transfers/commit); ` +
    `sum=${totals.sum}`,
);
await ledger.close();
rmSync(dir, { recursive: true, force: true });

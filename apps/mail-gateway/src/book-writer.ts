// The postage book's durable writes, in a worker thread: each commit waits for an fsync (WAL,
// synchronous=FULL), which would otherwise stall every SMTP conversation on the event loop.
// Writes that arrive while a commit is under way are committed together (group commit); each is
// answered only after its commit.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export type WriteOp =
  | { op: 'addQuote'; args: unknown[] }
  | { op: 'markDelivered'; args: unknown[] }
  | { op: 'markRelaying'; args: unknown[] }
  | { op: 'clearRelaying'; args: unknown[] }
  | { op: 'setRefundTo'; args: unknown[] }
  | { op: 'recordDeposits'; currency: string; deposits: { sequence: bigint; transactionId: string; amount: bigint }[]; now: number };

export interface WriteRequest {
  id: number;
  write: WriteOp;
}

export type WriteAnswer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

const db = new Database((workerData as { path: string }).path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 10000');
db.defaultSafeIntegers(true);

const addQuote = db.prepare(
  `INSERT INTO quotes (ref, binding, sender, recipients, message_id, prices, shares, created_at, expires_at, refund_to, payee, state)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'quoted')`,
);
const markDelivered = db.prepare(
  "UPDATE quotes SET state = 'delivered', paid_currency = ?, paid_amount = ?, refund_to = COALESCE(?, refund_to), delivered_at = ? WHERE ref = ? AND state = 'quoted' AND swept_at IS NULL",
);
const markRelaying = db.prepare(
  "UPDATE quotes SET relaying_at = ?, paid_currency = ?, paid_amount = ? WHERE ref = ? AND state = 'quoted' AND swept_at IS NULL",
);
const clearRelaying = db.prepare("UPDATE quotes SET relaying_at = NULL, paid_currency = NULL, paid_amount = NULL WHERE ref = ? AND state = 'quoted'");
const setRefundTo = db.prepare("UPDATE quotes SET refund_to = ? WHERE ref = ? AND state = 'quoted' AND swept_at IS NULL");
const insertDeposit = db.prepare('INSERT OR IGNORE INTO deposits (currency, sequence, transaction_id, amount, received_at) VALUES (?, ?, ?, ?, ?)');
const acknowledged = db.prepare('SELECT sequence FROM acknowledged WHERE currency = ?');
const setAcknowledged = db.prepare('INSERT INTO acknowledged (currency, sequence) VALUES (?, ?) ON CONFLICT (currency) DO UPDATE SET sequence = excluded.sequence');

function apply(write: WriteOp): unknown {
  switch (write.op) {
    case 'addQuote':
      addQuote.run(...write.args);
      return undefined;
    case 'markDelivered':
      return markDelivered.run(...write.args).changes === 1;
    case 'markRelaying':
      return markRelaying.run(...write.args).changes === 1;
    case 'clearRelaying':
      clearRelaying.run(...write.args);
      return undefined;
    case 'setRefundTo':
      setRefundTo.run(...write.args);
      return undefined;
    case 'recordDeposits': {
      let highest = (acknowledged.get(write.currency) as { sequence: bigint } | undefined)?.sequence ?? 0n;
      for (const d of write.deposits) {
        insertDeposit.run(write.currency, d.sequence, d.transactionId, d.amount, write.now);
        if (d.sequence > highest) highest = d.sequence;
      }
      setAcknowledged.run(write.currency, highest);
      return undefined;
    }
  }
}

let queue: WriteRequest[] = [];

function flush(): void {
  const batch = queue;
  queue = [];
  const answers: WriteAnswer[] = [];
  try {
    db.transaction(() => {
      for (const request of batch) answers.push({ id: request.id, ok: true, value: apply(request.write) });
    })();
  } catch (error) {
    // one bad write fails its batch: answer each alone so the others still commit
    answers.length = 0;
    for (const request of batch) {
      try {
        answers.push({ id: request.id, ok: true, value: db.transaction(() => apply(request.write))() });
      } catch (single) {
        answers.push({ id: request.id, ok: false, error: (single as Error).message ?? String(error) });
      }
    }
  }
  parentPort?.postMessage(answers);
}

parentPort?.on('message', (requests: WriteRequest[] | 'close') => {
  if (requests === 'close') {
    if (queue.length > 0) flush();
    db.close();
    parentPort?.close();
    return;
  }
  if (queue.length === 0) setImmediate(flush);
  queue.push(...requests);
});

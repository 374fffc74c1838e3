// Runs inside a worker thread: the whole ledger (rules + SQLite store) on its own core, so
// SQL and fsync never block the thread that speaks TLS and SOAP. Requests arrive as messages.
import { parentPort, workerData } from 'node:worker_threads';
import { createIssuerLedger } from './issuer.js';
import { openSqliteStore } from './sqlite-store.js';
import type { IssuerLedger } from './types.js';
import type { WorkerReplies, WorkerReply, WorkerRequest, WorkerStart } from './worker-messages.js';

const port = parentPort;
if (!port) throw new Error('ledger-worker.js runs as a worker thread');

const start = workerData as WorkerStart;
const ledger: IssuerLedger = createIssuerLedger(openSqliteStore(start.databasePath, start.store), start.settings);
const aborts = new Map<number, AbortController>();

function call(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case 'transfer':
      return ledger.transfer(request.command);
    case 'mint':
      return ledger.mint(request.recipient, request.amount, request.transactionId);
    case 'getDeposits': {
      const abort = new AbortController();
      aborts.set(request.id, abort);
      return ledger.getDeposits(request.holder, request.request, abort.signal).finally(() => aborts.delete(request.id));
    }
    case 'balance':
      return ledger.balance(request.account);
    case 'statement':
      return ledger.statement(request.account, request.options);
    case 'totals':
      return ledger.totals();
    case 'close':
      return ledger.close();
    case 'abort':
      aborts.get(request.target)?.abort();
      return Promise.resolve(undefined);
  }
}

// A group commit settles all its works at once. Their replies leave together, as one message,
// once this turn of the event loop is over: one structured clone and one wake-up of the main
// thread per commit, not per work. Requests are not batched the other way: the worker would then
// wait for the main thread's whole turn before starting a batch (slower in a side-by-side run).
let replies: WorkerReplies = [];
const flushReplies = (): void => {
  const sending = replies;
  replies = [];
  port.postMessage(sending);
};
const reply = (message: WorkerReply): void => {
  if (replies.push(message) === 1) setImmediate(flushReplies);
};

port.on('message', (request: WorkerRequest) => {
  call(request).then(
    (value) => reply({ id: request.id, ok: true, value }),
    (error: unknown) => reply({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});

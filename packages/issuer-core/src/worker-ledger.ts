// An IssuerLedger whose rules and SQLite store run in a worker thread (ledger-worker.ts).
// The issuer's server uses it so that durable commits overlap with TLS and SOAP work;
// group commit still happens inside the worker.
import { Worker } from 'node:worker_threads';
import type { EntityId, GetDepositsRequest } from '@lcp/protocol';
import type { IssuerLedger, IssuerSettings } from './types.js';
import type { WorkerReplies, WorkerRequest, WorkerStart } from './worker-messages.js';

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type Op = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The compiled worker; tests that run from src/ still load the built one (turbo builds first). */
function workerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../dist/ledger-worker.js', here) : new URL('./ledger-worker.js', here);
}

export class LedgerWorkerError extends Error {
  override name = 'LedgerWorkerError';
}

/** The ledger is closing: the request was not started (a server answers "unavailable, retry"). */
export class LedgerClosedError extends Error {
  override name = 'LedgerClosedError';
}

export function startLedgerWorker(start: WorkerStart): Promise<IssuerLedger> {
  const worker = new Worker(workerUrl(), { workerData: start });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failure: Error | undefined;

  worker.on('message', (replies: WorkerReplies) => {
    for (const reply of replies) {
      const waiting = pending.get(reply.id);
      if (!waiting) continue;
      pending.delete(reply.id);
      if (reply.ok) waiting.resolve(reply.value);
      else waiting.reject(new LedgerWorkerError(reply.error));
    }
  });
  const fail = (error: Error): void => {
    failure = error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new LedgerWorkerError(`the ledger worker exited (${code})`)));

  let closing = false;
  function send<T>(op: Op): Promise<T> {
    if (failure) return Promise.reject(failure);
    if (closing && op.op !== 'close' && op.op !== 'abort') return Promise.reject(new LedgerClosedError('the ledger is closing'));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...op, id });
    });
  }

  let closed: Promise<void> | undefined;
  const ledger: IssuerLedger = {
    settings: start.settings,
    transfer: (command) => send({ op: 'transfer', command }),
    mint: (recipient: EntityId, amount: bigint, transactionId: string) => send({ op: 'mint', recipient, amount, transactionId }),
    getDeposits(holder: EntityId, request: GetDepositsRequest, signal?: AbortSignal) {
      const id = nextId; // the id send() is about to use
      const answer = send<Awaited<ReturnType<IssuerLedger['getDeposits']>>>({ op: 'getDeposits', holder, request });
      const abort = (): void => void send({ op: 'abort', target: id }).catch(() => undefined);
      signal?.addEventListener('abort', abort, { once: true });
      const forget = (): void => signal?.removeEventListener('abort', abort);
      answer.then(forget, forget);
      return answer;
    },
    balance: (account) => send({ op: 'balance', account }),
    statement: (account, options) => send({ op: 'statement', account, ...(options ? { options } : {}) }),
    totals: () => send({ op: 'totals' }),
    close() {
      closing = true;
      closed ??= send<void>({ op: 'close' })
        .catch(() => undefined)
        .then(() => worker.terminate())
        .then(() => undefined);
      return closed;
    },
  };

  // the worker opens the database (and runs migrations) first: answer only once it is ready
  return ledger.totals().then(() => ledger);
}

export type { WorkerStart, IssuerSettings };

// Deposit notification latency. Pairs of holders: the payee keeps a getDeposits long-poll open
// (paper mode, millisecondsWait 60000); 5 ms after each answer its payer pays it, and the pair
// waits for the payee's long-poll to answer with that deposit.
//
// What can be measured honestly: the load generator sees when the payer sent (t0), when the
// payer's success arrived (tp) and when the payee's answer arrived (tr). The commit itself is
// inside the issuer: its process records (issuer-child.ts) when the worker's "committed" reached
// the main thread (c) and when the long-poll's answer was ready there (a). The two clocks are
// tied together by the IPC round trip with the smallest delay (error at most half of it).
//   commit -> payee holds the answer   tr - c      the figure the target is about
//   commit -> answer ready in issuer   a - c       the answer shares the transfer's commit; then both cross to the main thread
//   payer's success -> payee's answer  tr - tp     client-side only; negative when the payee is first
import { quantile } from './closed-loop.js';
import type { ServerProcess } from './server-process.js';
import { getDepositsRequest, transferRequests } from './requests.js';
import { TlsHttpConnection } from './tls-http.js';
import type { BenchHolder } from './holders.js';

export interface LatencyFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface NotifyResult {
  pairs: number;
  seconds: number;
  notifications: number;
  transfersPerSecond: number;
  /** Half the smallest IPC round trip: how far the two clocks may be apart. */
  clockErrorMs: number;
  commitToReply: LatencyFigures;
  commitToAnswer: LatencyFigures;
  paidToReply: LatencyFigures;
  sentToReply: LatencyFigures;
  /** Rounds where the transfer did not succeed or the long-poll answered without its deposit. */
  failures: number;
  firstFailure: string | undefined;
}

function figures(values: number[]): LatencyFigures {
  const sorted = Float64Array.from(values).sort();
  return { p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), maxMs: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN };
}

/** server clock = client clock + offset, from the IPC round trip with the least delay. */
async function clockOffset(server: ServerProcess): Promise<{ offset: number; error: number }> {
  let best = { offset: 0, error: Number.POSITIVE_INFINITY };
  for (let i = 0; i < 40; i++) {
    const sent = performance.now();
    const serverNow = await server.call('clock');
    const received = performance.now();
    const half = (received - sent) / 2;
    if (half < best.error) best = { offset: serverNow - (sent + half), error: half };
  }
  return best;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function benchNotifications(
  server: ServerProcess,
  pairs: Array<{ payer: BenchHolder; payee: BenchHolder }>,
  options: { domain: string; port: number; path: string; warmupMs: number; durationMs: number },
): Promise<NotifyResult> {
  const { domain, port, path } = options;
  const open = (holder: BenchHolder) =>
    TlsHttpConnection.open({ host: '127.0.0.1', port, servername: domain, secureContext: holder.context });
  const connections = await Promise.all(pairs.map(async (pair) => ({ payer: await open(pair.payer), payee: await open(pair.payee) })));
  const poll = getDepositsRequest({ domain, port, path, millisecondsWait: 60_000 });
  const samples: Array<{ id: string; t0: number; tp: number; tr: number }> = [];
  let failures = 0;
  let firstFailure: string | undefined;
  let stopped = false;

  // empty every payee's queue first (funding deposits and the like)
  await Promise.all(connections.map((c) => c.payee.request(getDepositsRequest({ domain, port, path, millisecondsWait: 0 }))));
  const clock = await clockOffset(server);
  await server.call('trace', { on: true });
  const began = performance.now();
  const windowStart = began + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;

  await Promise.all(
    pairs.map(async (pair, i) => {
      const { payer, payee } = connections[i] as { payer: TlsHttpConnection; payee: TlsHttpConnection };
      const pay = transferRequests({ domain, port, path, recipient: pair.payee.id, amount: '0.01', transactionPrefix: `notify-${i}-` });
      while (!stopped) {
        const answer = payee.request(poll);
        await sleep(5); // the long-poll reaches the ledger and waits
        const counter = ++pair.payer.counter;
        const id = `notify-${i}-${counter}`;
        const t0 = performance.now();
        const paid = await payer.request(pay(counter));
        const tp = performance.now();
        const delivered = await answer;
        const tr = performance.now();
        if (!paid.body.includes('<result>success</result>') || !delivered.body.includes(`<transactionId>${id}</transactionId>`)) {
          failures++;
          firstFailure ??= `transfer: ${paid.body.slice(0, 200)} / getDeposits: ${delivered.body.slice(0, 200)}`;
        } else if (t0 >= windowStart && tr <= windowEnd) {
          samples.push({ id, t0, tp, tr });
        }
        if (tr > windowEnd) stopped = true;
      }
    }),
  );
  const trace = await server.call('trace', { on: false });
  for (const c of connections) {
    c.payer.close();
    c.payee.close();
  }

  const commitToReply: number[] = [];
  const commitToAnswer: number[] = [];
  for (const s of samples) {
    const committed = trace.committed.get(s.id);
    const answered = trace.answered.get(s.id);
    if (committed === undefined || answered === undefined) continue;
    commitToReply.push(s.tr - (committed - clock.offset));
    commitToAnswer.push(answered - committed);
  }
  return {
    pairs: pairs.length,
    seconds: options.durationMs / 1000,
    notifications: samples.length,
    transfersPerSecond: samples.length / (options.durationMs / 1000),
    clockErrorMs: clock.error,
    commitToReply: figures(commitToReply),
    commitToAnswer: figures(commitToAnswer),
    paidToReply: figures(samples.map((s) => s.tr - s.tp)),
    sentToReply: figures(samples.map((s) => s.tr - s.t0)),
    failures,
    firstFailure,
  };
}

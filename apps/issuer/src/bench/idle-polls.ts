// Memory of idle long-polls. HTTP/1.1 carries one request at a time per connection, so 10,000
// waiting getDeposits need 10,000 TLS connections; LCP_MAX_CONNECTIONS_PER_KEY (64 by default)
// then needs many keys: `keys` holders with `perKey` connections each. Every connection sends
// getDeposits with millisecondsWait 60000 and leaves it waiting. The issuer's memory is taken
// (after a full GC) before the first connection and once every request is waiting in the ledger.
// Each key opens its connections one after another, offering its newest session ticket, so all but
// its first connection resume: the share that does is the resumption figure for returning holders.
import tls from 'node:tls';
import type { ServerProcess } from './server-process.js';
import { getDepositsRequest } from './requests.js';
import type { BenchHolder } from './holders.js';

export interface IdlePollsResult {
  connections: number;
  keys: number;
  /** Connections that were open with their getDeposits waiting when memory was taken. */
  waiting: number;
  secondsToOpen: number;
  /** Long-polls that ran their full 60 s before the measurement ended (only on a slow machine). */
  expired: number;
  before: NodeJS.MemoryUsage;
  after: NodeJS.MemoryUsage;
  rssDeltaBytes: number;
  rssPerPollKiB: number;
  heapDeltaBytes: number;
  /** Connections after a key's first that the client saw resume (isSessionReused). */
  returningResumed: number;
  returning: number;
  serverHandshakes: { full: number; resumed: number };
  failures: number;
  firstFailure: string | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function connect(options: tls.ConnectionOptions): Promise<{ socket: tls.TLSSocket; newestSession: () => Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const socket = tls.connect(options, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined); // torn down later by the client, or by a server restart
      resolve({ socket, newestSession: () => session });
    });
    socket.on('session', (ticket: Buffer) => (session = ticket));
    socket.once('error', reject);
  });
}

export async function benchIdlePolls(
  server: ServerProcess,
  holders: BenchHolder[],
  options: { domain: string; port: number; path: string; perKey: number; concurrency: number; openDeadlineMs: number },
): Promise<IdlePollsResult> {
  const { domain, port, path, perKey } = options;
  const request = getDepositsRequest({ domain, port, path, millisecondsWait: 60_000 });
  const sockets: tls.TLSSocket[] = [];
  let returning = 0;
  let returningResumed = 0;
  let failures = 0;
  let expired = 0;
  let firstFailure: string | undefined;
  const WAIT_MS = 60_000;

  const before = await server.call('memory', { gc: true });
  const handshakesBefore = await server.call('handshakes');
  const began = performance.now();
  const deadline = began + options.openDeadlineMs;
  // worker w opens every connection of keys w, w + concurrency, ...: one key's in sequence
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, worker) => {
      for (let k = worker; k < holders.length; k += options.concurrency) {
        const holder = holders[k] as BenchHolder;
        let session: Buffer | undefined;
        for (let n = 0; n < perKey && performance.now() < deadline; n++) {
          try {
            const opened = await connect({
              host: '127.0.0.1',
              port,
              servername: domain,
              secureContext: holder.context,
              ...(session ? { session } : {}),
            });
            if (n > 0) {
              returning++;
              if (opened.socket.isSessionReused()) returningResumed++;
            }
            opened.socket.write(request);
            const sent = performance.now();
            opened.socket.once('data', (chunk: Buffer) => {
              // an answer before its 60 s would mean the poll did not wait
              if (performance.now() - sent >= WAIT_MS - 500) {
                expired++;
              } else {
                failures++;
                firstFailure ??= chunk.toString('latin1').slice(0, 200);
              }
            });
            sockets.push(opened.socket);
            // TLS 1.3 tickets follow the handshake: give this one a moment to arrive
            for (let i = 0; i < 5 && !opened.newestSession(); i++) await sleep(1);
            session = opened.newestSession() ?? session;
          } catch (error) {
            failures++;
            firstFailure ??= String((error as Error)?.message ?? error);
          }
        }
      }
    }),
  );
  const secondsToOpen = (performance.now() - began) / 1000;
  // every request has reached the ledger and waits there (at most 5 s more: the first polls end at 60 s)
  let waiting = await server.call('polls');
  for (let i = 0; i < 100 && waiting < sockets.length; i++) {
    await sleep(50);
    waiting = await server.call('polls');
  }
  const after = await server.call('memory', { gc: true });
  const handshakesAfter = await server.call('handshakes');

  for (const socket of sockets) socket.destroy();
  for (let i = 0; i < 200 && (await server.call('polls')) > 0; i++) await sleep(50);

  const rssDeltaBytes = after.rss - before.rss;
  return {
    connections: sockets.length,
    keys: holders.length,
    waiting,
    secondsToOpen,
    expired,
    before,
    after,
    rssDeltaBytes,
    rssPerPollKiB: rssDeltaBytes / 1024 / Math.max(1, waiting),
    heapDeltaBytes: after.heapUsed - before.heapUsed,
    returningResumed,
    returning,
    serverHandshakes: {
      full: handshakesAfter.full - handshakesBefore.full,
      resumed: handshakesAfter.resumed - handshakesBefore.resumed,
    },
    failures,
    firstFailure,
  };
}

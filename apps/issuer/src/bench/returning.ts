// Returning holders: each holder connects, sends one transfer and hangs up, then comes back for
// more rounds, offering the newest TLS session ticket of its previous connection (as https.Agent
// does). The share of returning connections that resume is what the paper's fee incentive rests
// on; the issuer's own count (connections.ts) is read alongside the client's.
import type { ServerProcess } from './server-process.js';
import { transferRequests } from './requests.js';
import { TlsHttpConnection } from './tls-http.js';
import type { BenchHolder } from './holders.js';

export interface ReturningResult {
  holders: number;
  rounds: number;
  /** Connections in rounds 2.. (each offered a session). */
  returning: number;
  resumedClient: number;
  serverFull: number;
  serverResumed: number;
  seconds: number;
  failures: number;
  firstFailure: string | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function benchReturning(
  server: ServerProcess,
  holders: BenchHolder[],
  options: { domain: string; port: number; path: string; rounds: number; concurrency: number },
): Promise<ReturningResult> {
  const { domain, port, path } = options;
  const sessions: Array<Buffer | undefined> = holders.map(() => undefined);
  const requests = holders.map((holder, i) =>
    transferRequests({ domain, port, path, recipient: (holders[(i + 1) % holders.length] as BenchHolder).id, amount: '0.01', transactionPrefix: `back-${i}-` }),
  );
  let returning = 0;
  let resumedClient = 0;
  let failures = 0;
  let firstFailure: string | undefined;
  let serverBefore = { full: 0, resumed: 0 };
  let began = 0;

  for (let round = 0; round < options.rounds; round++) {
    if (round === 1) {
      serverBefore = await server.call('handshakes');
      began = performance.now();
    }
    await Promise.all(
      Array.from({ length: options.concurrency }, async (_, worker) => {
        for (let i = worker; i < holders.length; i += options.concurrency) {
          const holder = holders[i] as BenchHolder;
          const offered = sessions[i];
          try {
            const connection = await TlsHttpConnection.open({
              host: '127.0.0.1',
              port,
              servername: domain,
              secureContext: holder.context,
              ...(offered ? { session: offered } : {}),
            });
            let newest: Buffer | undefined;
            connection.socket.on('session', (ticket: Buffer) => (newest = ticket));
            if (round > 0) {
              returning++;
              if (connection.socket.isSessionReused()) resumedClient++;
            }
            const response = await connection.request((requests[i] as (counter: number) => string)(++holder.counter));
            if (!response.body.includes('<result>success</result>')) {
              failures++;
              firstFailure ??= `HTTP ${response.status}: ${response.body.slice(0, 200)}`;
            }
            for (let wait = 0; wait < 5 && !newest; wait++) await sleep(1);
            sessions[i] = newest ?? offered;
            connection.close();
          } catch (error) {
            failures++;
            firstFailure ??= String((error as Error)?.message ?? error);
          }
        }
      }),
    );
  }
  const serverAfter = await server.call('handshakes');
  return {
    holders: holders.length,
    rounds: options.rounds,
    returning,
    resumedClient,
    serverFull: serverAfter.full - serverBefore.full,
    serverResumed: serverAfter.resumed - serverBefore.resumed,
    seconds: (performance.now() - began) / 1000,
    failures,
    firstFailure,
  };
}

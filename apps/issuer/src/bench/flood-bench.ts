// Honest holders during a flood of hostile requests. Honest holders pay each other in a closed
// loop (as in the main run) while hostile workers, each with its own key, send in a closed loop:
//   charRefs   60 KB of &#65; in transactionId: tooManyReferences 400 from the request guard,
//              before any XML parser reads it, connection kept
//   invalid    a small transfer with amount 0: invalidAmount 400, connection kept
//   oversized  headers declaring a 70 KB body: requestTooLarge 413 before the body is read,
//              connection closed, so every one costs a new full TLS handshake
// The issuer's answer to each hostile request is checked. Also measured alone: the issuer's CPU
// per hostile request of each kind.
import { LCP_NAMESPACE, LIMITS } from '@lcp/protocol';
import type { Operation } from './closed-loop.js';
import { httpLoad, problemOf, type HttpLoadResult } from './http-load.js';
import type { ProcessUsage } from './ipc.js';
import type { ServerProcess } from './server-process.js';
import { transferRequests } from './requests.js';
import { TlsHttpConnection } from './tls-http.js';
import type { BenchHolder } from './holders.js';

export const HOSTILE_KINDS = ['charRefs', 'invalid', 'oversized'] as const;
export type HostileKind = (typeof HOSTILE_KINDS)[number];
/** Each hostile worker's cycle. */
const CYCLE: readonly HostileKind[] = ['charRefs', 'invalid', 'invalid', 'oversized'];

interface Target {
  domain: string;
  port: number;
  path: string;
}

function post(t: Target, body: string, extraHeaders = ''): string {
  return (
    `POST ${t.path} HTTP/1.1\r\nHost: ${t.domain}:${t.port}\r\nContent-Type: text/xml; charset=utf-8\r\n` +
    `SOAPAction: "${LCP_NAMESPACE}#transferFunds"\r\n${extraHeaders}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

const transferBody = (fields: string): string =>
  '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
  `xmlns:tns="${LCP_NAMESPACE}"><soap:Body><tns:transferFunds>${fields}</tns:transferFunds></soap:Body></soap:Envelope>`;

/** The bytes of one hostile request of each kind, and the fault it must get. */
function hostileRequests(t: Target, recipient: string): Record<HostileKind, { bytes: string; fault: string; status: number }> {
  const fields = (amount: string, transactionId: string) =>
    `<recipient>${recipient}</recipient><amount>${amount}</amount><transactionId>${transactionId}</transactionId><messageCounter>1</messageCounter>`;
  const charRefs = post(t, transferBody(fields('1', '&#65;'.repeat(12_000))));
  if (charRefs.length > LIMITS.maxBodyBytes + 512) throw new Error('the character-reference flood must fit the body limit');
  return {
    charRefs: { bytes: charRefs, fault: 'soap:Client.tooManyReferences', status: 400 },
    invalid: { bytes: post(t, transferBody(fields('0', 'hostile'))), fault: 'soap:Client.invalidAmount', status: 400 },
    // only the headers: the issuer refuses on Content-Length alone and closes the connection
    oversized: {
      bytes:
        `POST ${t.path} HTTP/1.1\r\nHost: ${t.domain}:${t.port}\r\nContent-Type: text/xml; charset=utf-8\r\n` +
        `SOAPAction: "${LCP_NAMESPACE}#transferFunds"\r\nContent-Length: ${70 * 1024}\r\n\r\n`,
      fault: 'soap:Client.requestTooLarge',
      status: 413,
    },
  };
}

/** A hostile client: one kept-alive connection, reopened (without a session) when the issuer closes it. */
class HostileClient {
  #connection: TlsHttpConnection | undefined;
  constructor(
    private readonly t: Target,
    private readonly holder: BenchHolder,
  ) {}

  async send(request: { bytes: string; fault: string; status: number }): Promise<string | undefined> {
    this.#connection ??= await TlsHttpConnection.open({ host: '127.0.0.1', port: this.t.port, servername: this.t.domain, secureContext: this.holder.context });
    const connection = this.#connection;
    try {
      const response = await connection.request(request.bytes);
      if (response.close) this.close();
      if (response.status !== request.status || !response.body.includes(`<faultcode>${request.fault}</faultcode>`)) {
        return `HTTP ${response.status}: ${response.body.slice(0, 200)}`;
      }
      return undefined;
    } catch (error) {
      this.close();
      return String((error as Error)?.message ?? error);
    }
  }

  close(): void {
    this.#connection?.close();
    this.#connection = undefined;
  }
}

export interface FloodResult {
  honest: HttpLoadResult;
  hostileWorkers: number;
  /** Hostile requests answered during the honest run's whole span (warm-up included), per kind. */
  hostileSent: Record<HostileKind, number>;
  hostilePerSecond: number;
  hostileWrongAnswers: number;
  firstWrongAnswer: string | undefined;
}

export async function benchFlood(
  server: ServerProcess,
  honest: BenchHolder[],
  hostile: BenchHolder[],
  options: Target & { warmupMs: number; durationMs: number },
): Promise<FloodResult> {
  const sent: Record<HostileKind, number> = { charRefs: 0, invalid: 0, oversized: 0 };
  let wrong = 0;
  let firstWrong: string | undefined;
  let stopped = false;
  const began = performance.now();
  const floods = hostile.map(async (holder, w) => {
    const client = new HostileClient(options, holder);
    const requests = hostileRequests(options, (honest[w % honest.length] as BenchHolder).id);
    for (let k = w; !stopped; k++) {
      const kind = CYCLE[k % CYCLE.length] as HostileKind;
      const problem = await client.send(requests[kind]);
      sent[kind]++;
      if (problem !== undefined) {
        wrong++;
        firstWrong ??= `${kind}: ${problem}`;
      }
    }
    client.close();
  });
  let result: HttpLoadResult;
  try {
    result = await httpLoad(
      server,
      options.port,
      honest,
      (connection, i): Operation => {
        const holder = honest[i] as BenchHolder;
        const request = transferRequests({
          ...options,
          recipient: (honest[(i + 1) % honest.length] as BenchHolder).id,
          amount: '0.01',
          transactionPrefix: `flood-${i}-`,
        });
        return async () => problemOf(await connection.request(request(++holder.counter)), (b) => b.includes('<result>success</result>'));
      },
      options,
    );
  } finally {
    stopped = true;
    await Promise.all(floods);
  }
  const seconds = (performance.now() - began) / 1000;
  return {
    honest: result,
    hostileWorkers: hostile.length,
    hostileSent: sent,
    hostilePerSecond: (sent.charRefs + sent.invalid + sent.oversized) / seconds,
    hostileWrongAnswers: wrong,
    firstWrongAnswer: firstWrong,
  };
}

export interface HostileCost {
  kind: HostileKind;
  requests: number;
  serverCpuMsPerRequest: number;
  wrongAnswers: number;
}

const cpuMicros = ({ cpu }: ProcessUsage): number => cpu.user + cpu.system;

/** The issuer's CPU per hostile request of one kind, `count` of them over `clients` connections. */
export async function hostileCost(
  server: ServerProcess,
  holders: BenchHolder[],
  kind: HostileKind,
  count: number,
  t: Target,
): Promise<HostileCost> {
  const clients = holders.map((holder) => new HostileClient(t, holder));
  const request = hostileRequests(t, (holders[0] as BenchHolder).id)[kind];
  let wrongAnswers = 0;
  for (const client of clients) if (await client.send(request)) wrongAnswers++; // warm-up
  const before = await server.call('usage');
  let left = count;
  await Promise.all(
    clients.map(async (client) => {
      while (left > 0) {
        left--;
        if (await client.send(request)) wrongAnswers++;
      }
    }),
  );
  const after = await server.call('usage');
  for (const client of clients) client.close();
  return { kind, requests: count, serverCpuMsPerRequest: (cpuMicros(after) - cpuMicros(before)) / 1000 / count, wrongAnswers };
}

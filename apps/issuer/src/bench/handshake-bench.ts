// Server CPU per TLS handshake, full and resumed. Each connection sends one GET /healthz with
// `Connection: close`; the CPU of the same request on a kept-alive connection is measured too
// and subtracted, leaving what the connection itself (TCP accept, handshake, close) costs.
import tls from 'node:tls';
import type { ProcessUsage } from './ipc.js';
import type { ServerProcess } from './server-process.js';
import { TlsHttpConnection } from './tls-http.js';

export interface HandshakePhase {
  connections: number;
  seconds: number;
  /** Server CPU per connection, request included. */
  cpuMsPerConnection: number;
  /** cpuMsPerConnection minus the CPU of the request alone. */
  cpuMsPerHandshake: number;
  /** Connections whose client saw socket.isSessionReused(). */
  clientReused: number;
  /** What the issuer counted (connections.ts), over the same connections. */
  serverFull: number;
  serverResumed: number;
  failures: number;
}

export interface HandshakeResult {
  concurrency: number;
  /** Server CPU per GET /healthz on a kept-alive connection. */
  requestCpuMs: number;
  full: HandshakePhase;
  resumed: HandshakePhase;
}

interface Target {
  server: ServerProcess;
  port: number;
  /** One client context per holder (its certificate and key, and the bench CA). */
  contexts: tls.SecureContext[];
}

const cpuMicros = ({ cpu }: ProcessUsage): number => cpu.user + cpu.system;

function healthz(domain: string, close: boolean): string {
  return `GET /healthz HTTP/1.1\r\nHost: ${domain}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
}

/** One connection, one request, closed by the server; resolves with what the handshake was. */
function connectOnce(
  options: tls.ConnectionOptions,
  request: string,
): Promise<{ reused: boolean; session: Buffer | undefined; ok: boolean }> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    let reused = false;
    const chunks: Buffer[] = [];
    const socket = tls.connect(options, () => {
      reused = socket.isSessionReused();
      socket.write(request);
    });
    // TLS 1.3 tickets arrive after the handshake; keep the newest, as https.Agent does
    socket.on('session', (ticket: Buffer) => (session = ticket));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('close', () =>
      resolve({ reused, session, ok: Buffer.concat(chunks).toString('latin1').startsWith('HTTP/1.1 200') }),
    );
  });
}

async function requestCpu(target: Target, domain: string, requests: number): Promise<number> {
  const connection = await TlsHttpConnection.open({
    host: '127.0.0.1',
    port: target.port,
    servername: domain,
    secureContext: target.contexts[0],
  });
  try {
    const request = healthz(domain, false);
    for (let i = 0; i < 100; i++) await connection.request(request);
    const before = await target.server.call('usage');
    for (let i = 0; i < requests; i++) {
      const response = await connection.request(request);
      if (response.status !== 200) throw new Error(`GET /healthz answered ${response.status}`);
    }
    const after = await target.server.call('usage');
    return (cpuMicros(after) - cpuMicros(before)) / 1000 / requests;
  } finally {
    connection.close();
  }
}

export async function benchHandshakes(
  target: Target,
  options: { domain: string; connections: number; concurrency: number },
): Promise<HandshakeResult> {
  const { domain, connections, concurrency } = options;
  const sessions: Array<Buffer | undefined> = target.contexts.map(() => undefined);
  const request = healthz(domain, true);

  // connection k uses holder k mod holders; with holders a multiple of concurrency, each holder's
  // connections run one after another in the same worker, so its newest ticket is always at hand
  const phase = async (count: number, resume: boolean, requestMs: number): Promise<HandshakePhase> => {
    let clientReused = 0;
    let failures = 0;
    const cpuBefore = await target.server.call('usage');
    const countsBefore = await target.server.call('handshakes');
    const began = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async (_, worker) => {
        for (let k = worker; k < count; k += concurrency) {
          const holder = k % target.contexts.length;
          const session = resume ? sessions[holder] : undefined;
          try {
            const outcome = await connectOnce(
              {
                host: '127.0.0.1',
                port: target.port,
                servername: domain,
                secureContext: target.contexts[holder],
                ...(session ? { session } : {}),
              },
              request,
            );
            if (outcome.reused) clientReused++;
            if (!outcome.ok) failures++;
            sessions[holder] = outcome.session ?? sessions[holder];
          } catch {
            failures++;
          }
        }
      }),
    );
    const seconds = (performance.now() - began) / 1000;
    const cpuAfter = await target.server.call('usage');
    const countsAfter = await target.server.call('handshakes');
    const perConnection = (cpuMicros(cpuAfter) - cpuMicros(cpuBefore)) / 1000 / count;
    return {
      connections: count,
      seconds,
      cpuMsPerConnection: perConnection,
      cpuMsPerHandshake: perConnection - requestMs,
      clientReused,
      serverFull: countsAfter.full - countsBefore.full,
      serverResumed: countsAfter.resumed - countsBefore.resumed,
      failures,
    };
  };

  const requestCpuMs = await requestCpu(target, domain, connections);
  await phase(Math.min(connections, target.contexts.length), false, 0); // warm-up; also gives every holder a ticket
  const full = await phase(connections, false, requestCpuMs);
  const resumed = await phase(connections, true, requestCpuMs);
  return { concurrency, requestCpuMs, full, resumed };
}

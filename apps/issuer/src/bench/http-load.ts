// A closed-loop HTTP load on kept-alive TLS connections, one per holder, with the server
// process's CPU and event-loop utilization over the measurement window.
import { readFileSync } from 'node:fs';
import { runClosedLoop, type ClosedLoopResult, type Operation } from './closed-loop.js';
import type { ProcessUsage } from './ipc.js';
import type { ServerProcess } from './server-process.js';
import { TlsHttpConnection, type HttpResponse } from './tls-http.js';
import type { BenchHolder } from './holders.js';

interface CpuSample {
  server: ProcessUsage;
  client: NodeJS.CpuUsage;
  host: HostCpu | undefined;
}

/** The whole machine's CPU time so far, in seconds (Linux /proc/stat; undefined elsewhere). */
export interface HostCpu {
  busy: number;
  steal: number;
}

const USER_HZ = 100; // the unit of /proc/stat on Linux

export function hostCpu(): HostCpu | undefined {
  try {
    const fields = (readFileSync('/proc/stat', 'latin1').split('\n', 1)[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    return { busy: (user + nice + system + irq + softirq) / USER_HZ, steal: steal / USER_HZ };
  } catch {
    return undefined;
  }
}

export interface HttpLoadResult extends Omit<ClosedLoopResult<CpuSample>, 'start' | 'end'> {
  /** Share of one core the server process used in the window. */
  serverCpu: number;
  serverCpuMsPerOp: number;
  /**
   * Share of the window the server's event loop was not waiting for events. Well above
   * serverCpu means the loop was blocked without using CPU (e.g. a synchronous fsync).
   */
  serverLoopBusy: number;
  /** Share of the window the server's main thread was paused for garbage collection, and the longest pause. */
  gcPaused: number;
  gcLongestMs: number;
  /** Share of one core this load generator used in the window. */
  clientCpu: number;
  /**
   * Share of one core that other processes on the machine used in the window (the machine's busy
   * time less the server's and this process's), and the share the hypervisor took (steal).
   * NaN where /proc/stat is not available.
   */
  otherCpu: number;
  stealCpu: number;
}

const micros = (usage: NodeJS.CpuUsage): number => usage.user + usage.system;

/** The server main thread's GC pauses between two samples: NaN from a build that does not count them. */
const gcFigures = (start: ProcessUsage, end: ProcessUsage, seconds: number): { gcPaused: number; gcLongestMs: number } => ({
  gcPaused: start.gc && end.gc ? (end.gc.pausedMs - start.gc.pausedMs) / 1000 / seconds : Number.NaN,
  gcLongestMs: end.gc?.longestMs ?? Number.NaN,
});

/** Every holder opens its own kept-alive connection; `operation` builds each holder's worker. */
export async function httpLoad(
  server: ServerProcess,
  port: number,
  holders: BenchHolder[],
  operation: (connection: TlsHttpConnection, index: number) => Operation,
  timing: { warmupMs: number; durationMs: number },
): Promise<HttpLoadResult> {
  const { domain } = server.ready;
  const connections = await Promise.all(
    holders.map((holder) =>
      TlsHttpConnection.open({ host: '127.0.0.1', port, servername: domain, secureContext: holder.context }),
    ),
  );
  try {
    const result = await runClosedLoop(
      connections.map((connection, index) => operation(connection, index)),
      {
        ...timing,
        sample: async (): Promise<CpuSample> => {
          const client = process.cpuUsage();
          return { client, host: hostCpu(), server: await server.call('usage') };
        },
      },
    );
    const { start, end, ...rest } = result;
    const serverMicros = micros(end.server.cpu) - micros(start.server.cpu);
    const clientMicros = micros(end.client) - micros(start.client);
    const host = start.host && end.host ? { busy: end.host.busy - start.host.busy, steal: end.host.steal - start.host.steal } : undefined;
    return {
      ...rest,
      serverCpu: serverMicros / 1e6 / result.seconds,
      serverCpuMsPerOp: serverMicros / 1000 / result.completed,
      serverLoopBusy: performance.eventLoopUtilization(end.server.elu, start.server.elu).utilization,
      ...gcFigures(start.server, end.server, result.seconds),
      clientCpu: clientMicros / 1e6 / result.seconds,
      otherCpu: host ? Math.max(0, host.busy - (serverMicros + clientMicros) / 1e6) / result.seconds : Number.NaN,
      stealCpu: host ? host.steal / result.seconds : Number.NaN,
    };
  } finally {
    for (const connection of connections) connection.close();
  }
}

/** undefined when the response is a 200 on a kept-alive connection that `expected` accepts. */
export function problemOf(response: HttpResponse, expected: (body: string) => boolean): string | undefined {
  if (response.status === 200 && !response.close && expected(response.body)) return undefined;
  return `HTTP ${response.status}${response.close ? ' (Connection: close)' : ''}: ${response.body.slice(0, 300)}`;
}

export interface WindowFigures {
  /** Shares of one core that other processes and the hypervisor took: NaN where /proc/stat is not available. */
  otherCpu: number;
  stealCpu: number;
  /** Share of the window the server's main thread was paused for garbage collection, and the longest pause. */
  gcPaused: number;
  gcLongestMs: number;
}

/**
 * Starts measuring what other processes (and the hypervisor) take from the machine, and the
 * server's GC pauses; the returned function ends the measurement.
 */
export async function measureWindow(server: ServerProcess): Promise<() => Promise<WindowFigures>> {
  const began = performance.now();
  const host = hostCpu();
  const client = process.cpuUsage();
  const usage = await server.call('usage');
  return async () => {
    const hostEnd = hostCpu();
    const clientEnd = process.cpuUsage();
    const usageEnd = await server.call('usage');
    const seconds = (performance.now() - began) / 1000;
    const gc = gcFigures(usage, usageEnd, seconds);
    if (!host || !hostEnd) return { otherCpu: Number.NaN, stealCpu: Number.NaN, ...gc };
    const ours = (micros(clientEnd) - micros(client) + micros(usageEnd.cpu) - micros(usage.cpu)) / 1e6;
    return { otherCpu: Math.max(0, hostEnd.busy - host.busy - ours) / seconds, stealCpu: (hostEnd.steal - host.steal) / seconds, ...gc };
  };
}

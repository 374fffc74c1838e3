// The parent's side of issuer-child.ts: forks it, waits for its ports, and calls its IPC operations.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildOp, ChildOps, ChildOptions, ChildReady, ChildReply, ChildRequest } from './ipc.js';

export interface ServerProcess {
  readonly ready: ChildReady;
  readonly pid: number;
  call<K extends ChildOp>(op: K, ...args: ChildOps[K]['args'] extends undefined ? [] : [ChildOps[K]['args']]): Promise<ChildOps[K]['result']>;
  /** Asks the child to close everything; kills it if it has not exited within 10 s. */
  stop(): Promise<void>;
  kill(): void;
}

const STOP_TIMEOUT_MS = 10_000;

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * `cpuProfileDir`: write a V8 CPU profile of the server process there when it exits.
 * `exposeGc`: start it with --expose-gc (for memory figures after a collection).
 * `child`: what the server process sets up (pre-populated accounts, extra settings).
 */
export async function forkServerProcess(
  options: { cpuProfileDir?: string; exposeGc?: boolean; child?: ChildOptions } = {},
): Promise<ServerProcess> {
  const child = fork(fileURLToPath(new URL('./issuer-child.js', import.meta.url)), [], {
    serialization: 'advanced',
    execArgv: [
      ...process.execArgv,
      ...(options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : []),
      ...(options.exposeGc ? ['--expose-gc'] : []),
    ],
    env: { ...process.env, LCP_LOG_LEVEL: 'silent', BENCH_CHILD_OPTIONS: JSON.stringify(options.child ?? {}) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;

  const ready = await new Promise<ChildReady>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the server process exited (code ${code}) before it was ready`)));
    child.once('message', (message) => resolve(message as ChildReady));
  });
  child.removeAllListeners('exit');
  child.removeAllListeners('error');
  child.on('message', (message: ChildReply) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.value);
    else waiter.reject(new Error(`server process: ${message.error}`));
  });
  child.on('exit', (code, signal) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`the server process exited (${code ?? signal})`));
    pending.clear();
  });

  const call = <K extends ChildOp>(op: K, ...args: unknown[]): Promise<ChildOps[K]['result']> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      const request: ChildRequest<K> = { id, op, args: args[0] as ChildOps[K]['args'] };
      child.send(request);
    });

  return {
    ready,
    pid: child.pid ?? -1,
    call: call as ServerProcess['call'],
    async stop() {
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      try {
        await Promise.race([call('stop').catch(() => undefined), exited(child)]);
        await exited(child);
      } finally {
        clearTimeout(timer);
      }
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

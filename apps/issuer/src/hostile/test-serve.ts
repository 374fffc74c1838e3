// `lcp-issuer serve` in a child process (as crash.test.ts runs it), so that its memory can be
// read from /proc without the test's own allocations in the figure.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface Served {
  child: ChildProcess;
  pid: number;
  httpsPort: number;
  /** Resolves once the process has exited (after stop(), or on its own). */
  exited: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `lcp-issuer serve --dir dir` and reads its ports from the "issuer started" log line
 * (so `env`, the child's whole environment, must not silence the log).
 */
export function serve(dir: string, env: NodeJS.ProcessEnv): Promise<Served> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'], env });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('lcp-issuer serve did not start within 15 s'));
    }, 15_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let entry: { msg?: string; httpsPort?: number };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.msg !== 'issuer started' || entry.httpsPort === undefined) return;
      clearTimeout(timer);
      resolve({
        child,
        pid: child.pid ?? -1,
        httpsPort: entry.httpsPort,
        exited,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lcp-issuer serve exited early (${code})`));
    });
  });
}

/** Resident set size of a process in bytes (Linux: VmRSS in /proc/<pid>/status). */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}

// `lcp-issuer serve` in a child process (as crash.test.ts runs it), so that its memory can be
// read from /proc without the test's own allocations in the figure.
import { readFile } from 'node:fs/promises';
import { serveIssuer, type ServedIssuer } from '../bench/serve-process.js';

export interface Served extends ServedIssuer {
  pid: number;
  stop(): Promise<void>;
}

export async function serve(dir: string): Promise<Served> {
  const served = await serveIssuer(dir);
  const { child, exited } = served;
  return {
    ...served,
    pid: child.pid ?? -1,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Resident set size of a process in bytes (Linux: VmRSS in /proc/<pid>/status). */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}

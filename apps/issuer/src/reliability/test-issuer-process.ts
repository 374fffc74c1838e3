// `lcp-issuer serve` as a child process that can be killed with SIGKILL and started again on
// the same folder, as crash.test.ts does; plus the currency folder and a direct look at its
// ledger once the child is gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { IssuerLedger } from '@lcp/issuer-core';
import { loadCurrency, openCurrencyLedger } from '../currency.js';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

interface LogEntry {
  level?: number;
  msg?: string;
  httpPort?: number;
  httpsPort?: number;
  err?: { message?: string };
}

export interface Served {
  child: ChildProcess;
  httpsPort: number;
  wsdlUrl: string;
  exited: Promise<number | null>;
}

/** The issuer in `dir` as a child process; resolves once its "issuer started" line is out. */
export class IssuerProcess {
  /** Error-level log lines of every child so far (an `internal` fault logs one). */
  readonly errors: string[] = [];
  starts = 0;
  kills = 0;
  #current: Served | undefined;

  constructor(readonly dir: string) {}

  get current(): Served | undefined {
    return this.#current;
  }

  start(): Promise<Served> {
    const child = spawn(process.execPath, [MAIN, 'serve', '--dir', this.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    createInterface({ input: child.stderr! }).on('line', (line) => this.errors.push(`stderr: ${line}`));
    this.starts++;
    return new Promise((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let entry: LogEntry;
        try {
          entry = JSON.parse(line) as LogEntry;
        } catch {
          this.errors.push(`stdout: ${line}`);
          return;
        }
        if ((entry.level ?? 0) >= 50) this.errors.push(`${entry.msg ?? ''}: ${entry.err?.message ?? line}`);
        if (entry.msg === 'issuer started' && entry.httpsPort && entry.httpPort) {
          this.#current = { child, httpsPort: entry.httpsPort, wsdlUrl: `http://money.com:${entry.httpPort}/lcp.wsdl`, exited };
          resolve(this.#current);
        }
      });
      void exited.then((code) => reject(new Error(`the issuer exited before it started (${code})`)));
    });
  }

  /** kill -9, and wait until the process is gone. */
  async kill(): Promise<void> {
    const served = this.#current;
    if (!served) return;
    this.#current = undefined;
    this.kills++;
    served.child.kill('SIGKILL');
    await served.exited;
  }

  /** SIGTERM: the issuer answers its long-polls, closes the ledger and exits 0. */
  async stop(): Promise<number | null> {
    const served = this.#current;
    if (!served) return null;
    this.#current = undefined;
    served.child.kill('SIGTERM');
    return served.exited;
  }
}

/** The ledger of the currency in `dir`, opened directly (the issuer must not be running). */
export async function openLedger(dir: string): Promise<IssuerLedger> {
  return openCurrencyLedger(await loadCurrency(dir));
}

// `lcp-issuer serve` as a child process that can be killed with SIGKILL and started again on
// the same folder, as crash.test.ts does; plus the currency folder and a direct look at its
// ledger once the child is gone.
import type { IssuerLedger } from '@lcp/issuer-core';
import { serveIssuer, type ServedIssuer } from '../bench/serve-process.js';
import { loadCurrency, openCurrencyLedger } from '../currency.js';

export type Served = ServedIssuer;

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

  async start(): Promise<Served> {
    this.starts++;
    this.#current = await serveIssuer(this.dir, {
      onLine: (line, entry, stream) => {
        if (stream === 'stderr') this.errors.push(`stderr: ${line}`);
        else if (!entry) this.errors.push(`stdout: ${line}`);
        else if ((entry.level ?? 0) >= 50) this.errors.push(`${entry.msg ?? ''}: ${entry.err?.message ?? line}`);
      },
    });
    return this.#current;
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

// Every payment goes through here: the budget is checked before anything is sent, and each
// payment is written to the statement (statement.jsonl, one fsynced line per change) before
// and after it is sent, so the statement lists every write, read and audit paid, matching the
// issuer's own records of the payer's account.
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatAmount } from '@lcp/protocol';
import type { Payer, PayTo } from './payer.js';

export type Purpose = 'contract' | 'write' | 'read' | 'audit';

export interface StatementLine {
  at: string;
  transactionId: string;
  purpose: Purpose;
  /** The peer paid (its node id) and its short name. */
  nodeId: string;
  peer: string;
  to: PayTo;
  amount: bigint;
  fee: bigint;
  /** `sending` until the issuer answers; `unknown` when it never did (the transfer may have happened). */
  status: 'sending' | 'paid' | 'failed' | 'unknown';
  detail?: string;
}

/** Paying this would spend more than the budget set at init. Nothing was sent. */
export class BudgetExhaustedError extends Error {
  override name = 'BudgetExhaustedError';
}

const toJson = (line: StatementLine): string => JSON.stringify(line, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

export class Spending {
  readonly #lines = new Map<string, StatementLine>();
  #spent = 0n;

  private constructor(
    readonly path: string,
    readonly payer: Payer,
    readonly currency: { wsdl: string; scale: number },
    public budget: bigint,
    /** Spent before this statement began (carried by the catalog to a new machine). */
    readonly spentBefore: bigint,
  ) {}

  static async open(path: string, payer: Payer, currency: { wsdl: string; scale: number }, budget: bigint, spentBefore = 0n): Promise<Spending> {
    const spending = new Spending(path, payer, currency, budget, spentBefore);
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const raw of text.split('\n')) {
      if (!raw.trim()) continue;
      const line = JSON.parse(raw) as StatementLine & { amount: string; fee: string };
      spending.#lines.set(line.transactionId, { ...line, amount: BigInt(line.amount), fee: BigInt(line.fee) });
    }
    spending.#spent = [...spending.#lines.values()].reduce((sum, l) => sum + (l.status === 'failed' ? 0n : l.amount + l.fee), 0n);
    return spending;
  }

  /** Spent so far, fees included, counting payments whose outcome is unknown. */
  get spent(): bigint {
    return this.spentBefore + this.#spent;
  }

  get remaining(): bigint {
    return this.budget - this.spent;
  }

  lines(): StatementLine[] {
    return [...this.#lines.values()];
  }

  /** Throws BudgetExhaustedError when `amount` more would go over the budget. */
  ensure(amount: bigint, what: string): void {
    if (this.spent + amount > this.budget) {
      const s = this.currency.scale;
      throw new BudgetExhaustedError(
        `budget exhausted: ${what} costs ${formatAmount(amount, s)}, but only ${formatAmount(this.remaining < 0n ? 0n : this.remaining, s)} of the budget of ${formatAmount(this.budget, s)} is left`,
      );
    }
  }

  /** Pays one peer for one purpose; returns the transactionId to present to the peer. */
  async pay(purpose: Purpose, peer: { nodeId: string; name: string }, to: PayTo, amount: bigint): Promise<string> {
    this.ensure(amount, `a ${purpose} on ${peer.name}`);
    // random and unguessable: whoever presents a transactionId first uses it (storage-node README)
    const transactionId = `lcpb-${randomBytes(16).toString('base64url')}`;
    const line: StatementLine = { at: new Date().toISOString(), transactionId, purpose, nodeId: peer.nodeId, peer: peer.name, to, amount, fee: 0n, status: 'sending' };
    this.#spent += amount;
    await this.#record(line);
    try {
      const { fee } = await this.payer.pay({ to, amount, currency: this.currency, transactionId });
      this.#spent += fee;
      await this.#record({ ...line, fee, status: 'paid' });
    } catch (error) {
      const { name, code, retryable } = error as { name?: string; code?: string; retryable?: boolean };
      // refused before or by the issuer: nothing moved. Anything else may have paid, a retryable
      // fault (`unavailable`: the commit's outcome unknown) included.
      const failed = name === 'PaymentError' || (name === 'LcpFaultError' && !retryable) || (name === 'AgentProblemError' && code !== 'paymentOutcomeUnknown');
      if (failed) this.#spent -= amount;
      await this.#record({ ...line, status: failed ? 'failed' : 'unknown', detail: (error as Error).message });
      throw error;
    }
    return transactionId;
  }

  async #record(line: StatementLine): Promise<void> {
    this.#lines.set(line.transactionId, line);
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await appendFile(this.path, `${toJson(line)}\n`, { mode: 0o600 });
    const handle = await open(this.path, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

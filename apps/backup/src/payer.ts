// Who pays the peers. The buyer key (derived from the secret) signs contracts and reads; the
// money can come from that key's own account at the issuer, from the user's local LCP agent
// (section 5), or from the user's bank account (section 5.1). One port, three adapters.
import type { LookupFunction } from 'node:net';
import { AgentClient } from '@lcp/agent';
import { boundedRequest, Wallet } from '@lcp/client';
import { formatAmount, parseAmount } from '@lcp/protocol';

export interface PayTo {
  entityId: string;
  userid?: string;
}

export interface PaymentOrder {
  to: PayTo;
  amount: bigint;
  currency: { wsdl: string; scale: number };
  transactionId: string;
}

export interface Payer {
  /** Who the issuer sees as the sender (the account whose statement matches ours). */
  readonly kind: 'issuer' | 'agent' | 'bank';
  /** Pays, or throws PaymentError. Returns the issuer's fee (and a bank's fee), minor units. */
  pay(order: PaymentOrder): Promise<{ fee: bigint }>;
  close(): Promise<void>;
}

export class PaymentError extends Error {
  override name = 'PaymentError';
  constructor(
    message: string,
    readonly result?: string,
  ) {
    super(message);
  }
}

/** Pays from the buyer key's own account (the key is an LCP holder too). */
export class IssuerPayer implements Payer {
  readonly kind = 'issuer';
  readonly #wallet: Wallet;
  constructor(options: { credentials: { certPem: string; keyPem: string }; dir?: string; caPem?: string; lookup?: LookupFunction }) {
    this.#wallet = new Wallet(options);
  }
  async pay(order: PaymentOrder): Promise<{ fee: bigint }> {
    const issuer = await this.#wallet.issuer(order.currency.wsdl, { scale: order.currency.scale });
    const response = await issuer.transferFunds({
      recipient: order.to.entityId,
      amount: order.amount,
      transactionId: order.transactionId,
      ...(order.to.userid ? { userid: order.to.userid } : {}),
    });
    if (response.result !== 'success') throw new PaymentError(`the issuer answered ${response.result}`, response.result);
    return { fee: response.fee };
  }
  close(): Promise<void> {
    return this.#wallet.close();
  }
}

/** Pays through the local LCP agent (POST /v1/payments), within the policy the user set there. */
export class AgentPayer implements Payer {
  readonly kind = 'agent';
  readonly #client: AgentClient;
  constructor(options: { url: string; token: string }) {
    this.#client = new AgentClient(options);
  }
  identity(): Promise<{ entityId: string }> {
    return this.#client.identity();
  }
  async pay(order: PaymentOrder): Promise<{ fee: bigint }> {
    const { result, fee } = await this.#client.pay({
      to: order.to.entityId,
      amount: formatAmount(order.amount, order.currency.scale),
      currency: order.currency.wsdl,
      transactionId: order.transactionId,
      ...(order.to.userid ? { userid: order.to.userid } : {}),
    });
    if (result !== 'success') throw new PaymentError(`the agent's issuer answered ${result}`, result);
    return { fee: minor(fee, order.currency.scale) };
  }
  async close(): Promise<void> {}
}

/** Pays from a bank account with an agent token of scope `spend` (POST /api/v1/payments). */
export class BankPayer implements Payer {
  readonly kind = 'bank';
  constructor(readonly options: { url: string; token: string; caPem?: string; lookup?: LookupFunction; timeoutMs?: number }) {}
  async pay(order: PaymentOrder): Promise<{ fee: bigint }> {
    const body = JSON.stringify({
      to: order.to.entityId,
      amount: formatAmount(order.amount, order.currency.scale),
      currency: order.currency.wsdl,
      transactionId: order.transactionId,
      ...(order.to.userid ? { userid: order.to.userid } : {}),
    });
    const answer = await this.#post('/api/v1/payments', body, order.transactionId);
    const parsed = answer.body as { result?: string; fee?: string; bankFee?: string; detail?: string; title?: string };
    // 202: the bank sent it and the issuer has not answered yet; the payment may still happen
    if (answer.status === 202) throw new Error(`the bank's payment ${order.transactionId} is pending: its outcome is not known yet`);
    if (answer.status !== 200 || parsed.result !== 'success') {
      throw new PaymentError(`the bank answered ${answer.status} ${parsed.result ?? parsed.detail ?? parsed.title ?? ''}`.trim(), parsed.result);
    }
    return { fee: minor(parsed.fee ?? '0', order.currency.scale) + minor(parsed.bankFee ?? '0', order.currency.scale) };
  }
  async close(): Promise<void> {}

  async #post(path: string, body: string, idempotencyKey: string): Promise<{ status: number; body: unknown }> {
    const { url, token, caPem, lookup, timeoutMs } = this.options;
    const answer = await boundedRequest(new URL(path, url), {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      timeoutMs: timeoutMs ?? 30_000,
      maxBytes: 64 * 1024,
      ...(caPem ? { caPem } : {}),
      ...(lookup ? { lookup } : {}),
    });
    let parsed: unknown = {};
    try {
      parsed = JSON.parse(answer.body);
    } catch {
      // a non-JSON answer is reported by its status
    }
    return { status: answer.status, body: parsed };
  }
}

function minor(decimal: string, scale: number): bigint {
  const parsed = parseAmount(decimal, scale);
  if (!parsed.ok) throw new PaymentError(`unreadable fee ${JSON.stringify(decimal)}`);
  return parsed.value;
}

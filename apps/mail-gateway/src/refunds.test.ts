// Refunds from the gateway's key when the issuer's answer is not a plain one: a real postage book
// (SQLite, its writer thread) and a scripted IssuerClient, since a real issuer does not answer
// unreadably or refuse a retransmission on demand.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LcpFaultError, LcpNetworkError, LcpProtocolError, type IssuerClient, type TransferOrder } from '@lcp/client';
import type { TransferFundsResponse } from '@lcp/protocol';
import { PostageBook } from './postage-book.js';
import { refundTransactionId, Refunds, type RefundOrder } from './refunds.js';
import { silent } from './test-support.js';

const wsdl = 'http://money.com/lcp.wsdl';
const alice = 'ab'.repeat(32);

/** What the scripted client does next: answer, or throw. */
type Step = TransferFundsResponse | Error | (() => Promise<TransferFundsResponse>);

class ScriptedClient {
  readonly sent: TransferOrder[] = [];
  readonly transfers: Step[] = [];
  readonly recoveries: (Error | undefined)[] = [];
  #pending: TransferOrder | undefined;

  async transferFunds(order: TransferOrder): Promise<TransferFundsResponse> {
    this.sent.push(order);
    const step = this.transfers.shift() ?? { result: 'success', fee: 0n };
    if (step instanceof LcpNetworkError) this.#pending = order;
    if (step instanceof Error) throw step;
    return typeof step === 'function' ? step() : step;
  }

  async recoverPending(): Promise<{ order: TransferOrder; response: TransferFundsResponse } | undefined> {
    const failure = this.recoveries.shift();
    if (!this.#pending) return undefined;
    if (failure) {
      if (failure instanceof LcpFaultError && !failure.retryable) this.#pending = undefined;
      throw failure;
    }
    const order = this.#pending;
    this.#pending = undefined;
    return { order, response: { result: 'success', fee: 0n } };
  }
}

let dir: string;
let book: PostageBook;
let client: ScriptedClient;
let refunds: Refunds;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lcp-mail-refunds-'));
  book = new PostageBook(join(dir, 'postage.sqlite'));
  client = new ScriptedClient();
  refunds = new Refunds({ book, clientFor: async () => client as unknown as IssuerClient, banks: new Map(), names: {}, scaleOf: () => 2, log: silent, now: Date.now });
});

afterEach(async () => {
  await book.close();
  await rm(dir, { recursive: true, force: true });
});

/** A delivered-style quote paid to the gateway's key, and the order refunding bob's share of it. */
async function orderFor(ref: string): Promise<RefundOrder> {
  const now = Date.now();
  await book.addQuote({
    ref,
    binding: ref,
    sender: 'alice@outside.test',
    recipients: ['bob@example.org'],
    messageId: `<${ref}@outside.test>`,
    prices: { [wsdl]: 5n },
    shares: { 'bob@example.org': { [wsdl]: 5n } },
    createdAt: now,
    expiresAt: now + 60_000,
    refundTo: alice,
  });
  return { ref, recipient: 'bob@example.org', currency: wsdl, amount: 5n, refundTo: alice, transactionId: refundTransactionId(ref, 'bob@example.org') };
}

const refused = () => new LcpFaultError('invalidAmount', 'soap:Client.invalidAmount', 'amount must be positive');

describe('a refund from the gateway key', () => {
  it('whose answer could not be read is unknown, and never sent again', async () => {
    const order = await orderFor('pst_unreadable');
    client.transfers.push(new LcpProtocolError('unreadable transferFundsResponse'));
    expect((await refunds.refund(order)).row).toMatchObject({ state: 'unknown', result: 'outcomeUnknown' });
    expect(await refunds.refund(order)).toMatchObject({ row: { state: 'unknown' }, repeated: true });
    expect(client.sent).toHaveLength(1);
  });

  it('whose client state could not be saved after the send is unknown too', async () => {
    const order = await orderFor('pst_unsaved');
    client.transfers.push(new Error('ENOSPC: no space left on device'));
    expect((await refunds.refund(order)).row.state).toBe('unknown');
    await refunds.refund(order);
    expect(client.sent).toHaveLength(1);
  });

  it('refused by the issuer is failed, and asked again it is a new attempt', async () => {
    const order = await orderFor('pst_refused');
    client.transfers.push(refused());
    expect((await refunds.refund(order)).row).toMatchObject({ state: 'failed', result: 'refused' });
    expect((await refunds.refund(order)).row).toMatchObject({ state: 'paid', attempt: 2 });
    expect(client.sent).toHaveLength(2);
  });

  it('left pending and then refused for good on recovery is failed, not left sending', async () => {
    const order = await orderFor('pst_pending');
    client.transfers.push(new LcpNetworkError('no answer'));
    expect((await refunds.refund(order)).row.state).toBe('sending');
    // the next refund first settles the pending one: the issuer refuses it (nothing moved)
    const next = await orderFor('pst_next');
    client.recoveries.push(refused());
    expect((await refunds.refund(next)).row.state).toBe('paid');
    expect(book.refund(order.ref, order.recipient)).toMatchObject({ state: 'failed', result: 'refused' });
  });

  it('is waited for by idle()', async () => {
    const order = await orderFor('pst_slow');
    client.transfers.push(() => new Promise((resolve) => setTimeout(() => resolve({ result: 'success', fee: 0n }), 200)));
    void refunds.refund(order);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(book.refund(order.ref, order.recipient)?.state).toBe('sending');
    await refunds.idle();
    expect(book.refund(order.ref, order.recipient)?.state).toBe('paid');
  });
});

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentError, type Payer, type PaymentOrder } from './payer.js';
import { BudgetExhaustedError, Spending } from './spending.js';

// the payer port with a ledger of its own: what reached it is what an issuer would have seen
class CountingPayer implements Payer {
  readonly kind = 'issuer';
  readonly orders: PaymentOrder[] = [];
  refuse = false;
  async pay(order: PaymentOrder) {
    if (this.refuse) throw new PaymentError('the issuer answered insufficientFunds', 'insufficientFunds');
    this.orders.push(order);
    return { fee: 1n };
  }
  async close() {}
}

const currency = { wsdl: 'http://money.com/lcp.wsdl', scale: 2 };
const peer = { nodeId: 'b'.repeat(64), name: 'bob' };
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lcp-backup-spending-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('budget limits', () => {
  it('pays within the budget, fees included, and refuses before sending anything once it would be exceeded', async () => {
    const payer = new CountingPayer();
    const spending = await Spending.open(join(dir, 'a.jsonl'), payer, currency, 100n);
    await spending.pay('contract', peer, { entityId: peer.nodeId }, 50n);
    await spending.pay('write', peer, { entityId: peer.nodeId }, 40n);
    expect(spending.spent).toBe(92n); // 50 + 40 + two fees of 1
    await expect(spending.pay('read', peer, { entityId: peer.nodeId }, 9n)).rejects.toThrow(BudgetExhaustedError);
    await expect(spending.pay('read', peer, { entityId: peer.nodeId }, 9n)).rejects.toThrow(/budget exhausted: a read on bob costs 0.09, but only 0.08 of the budget of 1 is left/);
    expect(payer.orders).toHaveLength(2);
    await spending.pay('audit', peer, { entityId: peer.nodeId }, 7n);
    expect(spending.spent).toBe(100n);
  });

  it('keeps the statement across restarts, so the budget is not reset by reopening', async () => {
    const payer = new CountingPayer();
    const path = join(dir, 'b.jsonl');
    const first = await Spending.open(path, payer, currency, 100n);
    await first.pay('write', peer, { entityId: peer.nodeId, userid: 'bob' }, 60n);
    const again = await Spending.open(path, payer, currency, 100n);
    expect(again.spent).toBe(61n);
    expect(again.lines()).toEqual([expect.objectContaining({ purpose: 'write', amount: 60n, fee: 1n, status: 'paid', to: { entityId: peer.nodeId, userid: 'bob' } })]);
    await expect(again.pay('write', peer, { entityId: peer.nodeId }, 40n)).rejects.toThrow(BudgetExhaustedError);
    const text = await readFile(path, 'utf8');
    expect(text.trim().split('\n')).toHaveLength(2); // sending, then paid
  });

  it('a refused payment does not count against the budget and stays in the statement as failed', async () => {
    const payer = new CountingPayer();
    payer.refuse = true;
    const spending = await Spending.open(join(dir, 'c.jsonl'), payer, currency, 100n);
    await expect(spending.pay('write', peer, { entityId: peer.nodeId }, 60n)).rejects.toThrow(PaymentError);
    expect(spending.spent).toBe(0n);
    expect(spending.lines()[0]?.status).toBe('failed');
  });

  it('carries what another machine spent', async () => {
    const spending = await Spending.open(join(dir, 'd.jsonl'), new CountingPayer(), currency, 100n, 95n);
    expect(spending.remaining).toBe(5n);
    await expect(spending.pay('read', peer, { entityId: peer.nodeId }, 6n)).rejects.toThrow(BudgetExhaustedError);
  });
});

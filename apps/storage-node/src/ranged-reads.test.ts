// Ranged reads (an audit's challenge: some bytes of an object, priced by those bytes) and the
// list of a buyer's own contracts (how a buyer that kept only its key finds what it bought).
// A real issuer; every price is checked against what the node's account received.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EntityId } from '@lcp/protocol';
import type { RunningStorageNode } from './app.js';
import { StorageNodeClient } from './storage-node-client.js';
import {
  buyContract,
  header,
  party,
  pay,
  rawRetrieve,
  refusal,
  startTestIssuer,
  startTestNode,
  store,
  tempHome,
  type Party,
  type TestIssuer,
} from './test-support.js';
import type { StorageTraceEvent } from './trace.js';
import type { Contract } from './wire.js';

let t: TestIssuer;
let home: string;
let bob: RunningStorageNode;
let buyer: Party;
let stranger: Party;
const traces: StorageTraceEvent[] = [];

beforeAll(async () => {
  t = await startTestIssuer();
  home = await tempHome();
  bob = await startTestNode(t, home, {}, { onTrace: (e) => traces.push(e) });
  [buyer, stranger] = await Promise.all([party(t, bob, 1000_00n), party(t, bob, 100_00n)]);
}, 30_000);

afterAll(async () => {
  for (const p of [buyer, stranger]) p?.close();
  await bob?.close();
  await t?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});



describe('ranged reads', () => {
  let contract: Contract;
  const object = randomBytes(3000);

  beforeAll(async () => {
    contract = await buyContract(buyer, bob);
    await store(buyer, bob, contract, 'fragment', object);
  });

  it('serves a range, priced by the bytes of the range (every started KB), to the reader it names', async () => {
    const received = await t.issuer.ledger.balance(bob.payTo.entityId as EntityId);
    const range = { offset: 1500, length: 1100 }; // two started KB: 2 × 4.00
    const ask = (payment: string) => buyer.node.requestRetrieval(contract.contractId, 'fragment', { reader: buyer.holder.id, paymentTransactionId: payment, range });
    expect(await refusal(ask(await pay(buyer, bob, 4_00n, 'range-underpaid')))).toBe('paymentNotVerified');
    const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
    const payment = await pay(buyer, bob, 8_00n, 'range');
    const instruction = await buyer.node.requestRetrieval(contract.contractId, 'fragment', { reader: buyer.holder.id, paymentTransactionId: payment, range }, { traceparent });
    // the instruction names the whole object (size, sha256) and the range served
    expect(instruction).toMatchObject({ objectId: 'fragment', size: 3000, range });
    const bytes = await buyer.node.retrieve(instruction, { traceparent });
    expect(bytes.equals(object.subarray(1500, 2600))).toBe(true);
    // the node was paid exactly the two payments it received (the underpaid one is not refunded: it was sent)
    expect(await t.issuer.ledger.balance(bob.payTo.entityId as EntityId)).toBe(received + 4_00n + 8_00n);

    const traceId = traceparent.split('-')[1];
    await vi.waitFor(() => expect(traces.filter((e) => e.traceId === traceId)).toHaveLength(5), { timeout: 5000, interval: 10 });
    const events = traces.filter((e) => e.traceId === traceId);
    expect(events[0]?.detail).toMatchObject({ offset: 1500, length: 1100 });
    expect(events.find((e) => e.what === 'payment answered')?.detail).toMatchObject({ verified: true, amount: '8', minAmount: '8' });
    expect(events.find((e) => e.what === 'content served')?.detail).toMatchObject({ size: 1100, offset: 1500 });
  });

  it('answers a range as 206 with Content-Range, and a whole read as before (200, no range in the instruction)', async () => {
    const ranged = await buyer.node.requestRetrieval(contract.contractId, 'fragment', {
      reader: buyer.holder.id,
      paymentTransactionId: await pay(buyer, bob, 4_00n, 'one-byte'),
      range: { offset: 2999, length: 1 },
    });
    const raw = await rawRetrieve(bob.url, header(ranged), buyer.holder);
    expect(raw.status).toBe(206);
    expect(raw.body).toEqual(object.subarray(2999));

    const whole = await buyer.node.requestRetrieval(contract.contractId, 'fragment', { reader: buyer.holder.id, paymentTransactionId: await pay(buyer, bob, 12_00n, 'whole') });
    expect('range' in whole).toBe(false);
    expect((await buyer.node.retrieve(whole)).equals(object)).toBe(true);
  });

  it('refuses a range outside the object without spending its payment, and an altered range', async () => {
    const payment = await pay(buyer, bob, 4_00n, 'outside');
    const ask = (range: { offset: number; length: number }) =>
      buyer.node.requestRetrieval(contract.contractId, 'fragment', { reader: buyer.holder.id, paymentTransactionId: payment, range });
    expect(await refusal(ask({ offset: 2500, length: 501 }))).toBe('rangeNotSatisfiable');
    expect(await refusal(ask({ offset: 3000, length: 1 }))).toBe('rangeNotSatisfiable');
    expect(await refusal(ask({ offset: 0, length: 0 }))).toBe('badRequest');
    // the payment is still good for a range inside
    const instruction = await ask({ offset: 0, length: 1024 });
    // a reader who widens its range after the fact presents an instruction the node never signed
    const widened = await rawRetrieve(bob.url, header({ ...instruction, range: { offset: 0, length: 3000 } }), buyer.holder);
    expect(widened.status).toBe(403);
    expect((await buyer.node.retrieve(instruction)).equals(object.subarray(0, 1024))).toBe(true);
  });
});

describe("a buyer's own contracts", () => {
  it("lists the calling buyer's contracts only, newest first, and filters them by an object id prefix", async () => {
    const buyerOnly = await party(t, bob, 100_00n);
    try {
      const first = await buyContract(buyerOnly, bob);
      const second = await buyContract(buyerOnly, bob);
      await store(buyerOnly, bob, first, 'root-0000000001', randomBytes(100));
      await store(buyerOnly, bob, second, 'data-a', randomBytes(2000));
      await store(buyerOnly, bob, second, 'data-b', randomBytes(10));

      const all = await buyerOnly.node.contracts();
      const newestFirst = [first, second]
        .sort((a, b) => Date.parse(b.validFrom) - Date.parse(a.validFrom) || (a.contractId < b.contractId ? -1 : 1))
        .map((c) => c.contractId);
      expect(all.contracts.map((c) => c.contract.contractId)).toEqual(newestFirst);
      expect(all.contracts.find((c) => c.contract.contractId === second.contractId)).toMatchObject({ usedBytes: 2010, remainingBytes: 4096 - 2010, objectCount: 2 });
      expect(all.contracts.every((c) => c.contract.buyer === buyerOnly.holder.id)).toBe(true);

      const roots = await buyerOnly.node.contracts({ objectPrefix: 'root-' });
      expect(roots.contracts.map((c) => c.contract.contractId)).toEqual([first.contractId]);
      expect(roots.contracts[0]).toMatchObject({ usedBytes: 100, objectCount: 1 });
      expect((await buyerOnly.node.contracts({ objectPrefix: 'nothing-' })).contracts).toEqual([]);

      // another buyer sees none of them; a caller without a certificate is refused
      const theirs = await stranger.node.contracts();
      expect(theirs.contracts.some((c) => c.contract.buyer === buyerOnly.holder.id)).toBe(false);
      const anonymous = new StorageNodeClient({ url: bob.url, nodeId: bob.nodeId });
      expect(await refusal(anonymous.contracts())).toBe('clientCertificateRequired');
      anonymous.close();
      expect(await refusal(buyerOnly.node.contracts({ objectPrefix: '../x' }))).toBe('badRequest');
    } finally {
      buyerOnly.close();
    }
  });
});

// Bob's storage node against a real issuer: the basic storage contract of section 4, paid
// writes, and paid reads through signed, single-use, expiring retrieval instructions
// (Figure 2, steps 4, 5, 4' and 7). Every write and read is refused unless its payment arrived.
import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateIdentity } from '@lcp/crypto';
import type { RunningStorageNode } from './app.js';
import { signDocument, verifyDocument } from './signing.js';
import { StorageNodeClient, StorageNodeIdentityError, StorageNodeProblemError } from './storage-node-client.js';
import {
  buyContract,
  header,
  party,
  pay,
  problemCode,
  rawRetrieve,
  refusal,
  startTestIssuer,
  store,
  startTestNode,
  tempHome,
  type Party,
  type TestIssuer,
} from './test-support.js';
import type { StorageTraceEvent } from './trace.js';
import type { Contract, RetrievalInstruction } from './wire.js';

let t: TestIssuer;
let home: string;
let bob: RunningStorageNode;
let videoCom: Party;
let alice: Party;
let mallory: Party;
let skewMs = 0;
const traces: StorageTraceEvent[] = [];

beforeAll(async () => {
  t = await startTestIssuer();
  home = await tempHome();
  bob = await startTestNode(t, home, {}, { now: () => Date.now() + skewMs, onTrace: (e) => traces.push(e) });
  [videoCom, alice, mallory] = await Promise.all([party(t, bob, 1000_00n), party(t, bob), party(t, bob, 100_00n)]);
}, 30_000);

afterAll(async () => {
  for (const p of [videoCom, alice, mallory]) p?.close();
  await bob?.close();
  await t?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});


/** Steps 3' and 4: video.com pays the read price and asks for retrieval instructions for Alice. */
async function requestRetrieval(buyer: Party, contract: Contract, objectId: string, reader: string, size: number, traceparent?: string) {
  const payment = await pay(buyer, bob, BigInt(Math.max(1, Math.ceil(size / 1024))) * 4_00n, 'read');
  return buyer.node.requestRetrieval(contract.contractId, objectId, { reader, paymentTransactionId: payment }, traceparent ? { traceparent } : {});
}


describe('the paid happy path', () => {
  it('sells a contract, stores paid bytes, and delivers them to the reader named in paid instructions', async () => {
    const offer = await videoCom.node.offer();
    expect(offer).toMatchObject({
      nodeId: bob.nodeId,
      capacityBytes: 4096,
      contractPrice: '10',
      writePricePerKb: '1',
      readPricePerKb: '4',
      currency: { wsdl: t.issuer.wsdlUrl, scale: 2 },
      payTo: { entityId: bob.nodeId },
    });
    expect(verifyDocument('offer', offer, bob.nodeId)).toBe(true);

    const contract = await buyContract(videoCom, bob);
    expect(contract).toMatchObject({ buyer: videoCom.holder.id, contractPrice: '10', readPricePerKb: '4', capacityBytes: 4096 });
    expect(Date.parse(contract.validUntil) - Date.parse(contract.validFrom)).toBe(14 * 24 * 3600 * 1000);
    expect(verifyDocument('contract', contract, bob.nodeId)).toBe(true);

    const video = randomBytes(1500); // two started KB: a write price of 2
    const writePayment = await pay(videoCom, bob, 2_00n, 'write');
    const receipt = await videoCom.node.write(contract.contractId, 'video.mp4', video, writePayment);
    expect(receipt).toMatchObject({ size: 1500, price: '2', usedBytes: 1500, remainingBytes: 4096 - 1500 });
    expect(receipt.sha256).toBe(createHash('sha256').update(video).digest('hex'));

    const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
    const instruction = await requestRetrieval(videoCom, contract, 'video.mp4', alice.holder.id, video.length, traceparent);
    expect(instruction).toMatchObject({ nodeId: bob.nodeId, reader: alice.holder.id, size: 1500, url: `${bob.url}/retrieve` });

    // step 7: Alice, with her own certificate, redeems the instructions video.com passed on
    const reader = StorageNodeClient.forInstruction(instruction, { credentials: alice.holder });
    const bytes = await reader.retrieve(instruction, { traceparent });
    reader.close();
    expect(bytes.equals(video)).toBe(true);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(instruction.sha256);

    const traceId = traceparent.split('-')[1];
    const flow = () => traces.filter((e) => e.traceId === traceId).map((e) => [e.step, e.what, e.party]);
    // "content served" is recorded when the response has finished, which the reader may see first
    await vi.waitFor(() => expect(flow()).toHaveLength(5), { timeout: 5000, interval: 10 });
    expect(flow()).toEqual([
      ['4', 'retrieval instructions requested', 'bob'],
      ['5', 'payment asked', 'bob'],
      ['5', 'payment answered', 'bob'],
      ["4'", 'retrieval instructions answered', 'bob'],
      ['7', 'content served', 'bob'],
    ]);
    expect(traces.find((e) => e.traceId === traceId && e.what === 'payment answered')?.detail).toMatchObject({ verified: true, amount: '8' });
  });

  it('refuses a client that pins another key', async () => {
    const impostor = new StorageNodeClient({ url: bob.url, nodeId: generateIdentity().id, credentials: videoCom.holder });
    await expect(impostor.offer()).rejects.toBeInstanceOf(StorageNodeIdentityError);
    impostor.close();
  });
});

describe('refusals', () => {
  let contract: Contract;
  const video = randomBytes(1000);

  beforeAll(async () => {
    contract = await buyContract(videoCom, bob);
    await store(videoCom, bob, contract, 'clip', video);
  });

  it('refuses a contract without a verified payment', async () => {
    const offer = await videoCom.node.offer();
    expect(await refusal(videoCom.node.buyContract({ offerId: offer.offerId, paymentTransactionId: 'never-paid' }))).toBe('paymentNotVerified');
    const short = await pay(videoCom, bob, 9_99n, 'short-contract');
    expect(await refusal(videoCom.node.buyContract({ offerId: offer.offerId, paymentTransactionId: short }))).toBe('paymentNotVerified');
  });

  it('refuses unpaid and underpaid writes', async () => {
    const put = (objectId: string, payment: string) => videoCom.node.write(contract.contractId, objectId, randomBytes(2000), payment);
    expect(await refusal(put('unpaid', ''))).toBe('paymentRequired');
    expect(await refusal(put('unpaid', 'no-such-payment'))).toBe('paymentNotVerified');
    expect(await refusal(put('underpaid', await pay(videoCom, bob, 1_00n, 'underpaid-write')))).toBe('paymentNotVerified');
    expect((await videoCom.node.contract(contract.contractId)).objects.map((o) => o.objectId)).toEqual(['clip']);
  });

  it('refuses unpaid and underpaid reads', async () => {
    const ask = (payment: string) => videoCom.node.requestRetrieval(contract.contractId, 'clip', { reader: alice.holder.id, paymentTransactionId: payment });
    expect(await refusal(ask('no-such-payment'))).toBe('paymentNotVerified');
    expect(await refusal(ask(await pay(videoCom, bob, 3_99n, 'underpaid-read')))).toBe('paymentNotVerified');
  });

  it('refuses a payment used twice', async () => {
    const payment = await pay(videoCom, bob, 4_00n, 'read-once');
    const ask = () => videoCom.node.requestRetrieval(contract.contractId, 'clip', { reader: alice.holder.id, paymentTransactionId: payment });
    await ask();
    expect(await refusal(ask())).toBe('paymentAlreadyUsed');
    expect(await refusal(videoCom.node.write(contract.contractId, 'again', randomBytes(10), payment))).toBe('paymentAlreadyUsed');
    expect(await refusal(videoCom.node.buyContract({ offerId: (await videoCom.node.offer()).offerId, paymentTransactionId: contract.paymentTransactionId }))).toBe(
      'paymentAlreadyUsed',
    );
  });

  it('lets one payment pay for only one of two concurrent requests', async () => {
    const payment = await pay(videoCom, bob, 4_00n, 'concurrent');
    const ask = () => videoCom.node.requestRetrieval(contract.contractId, 'clip', { reader: alice.holder.id, paymentTransactionId: payment });
    const outcomes = await Promise.allSettled([ask(), ask(), ask()]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect((o.reason as StorageNodeProblemError).code).toBe('paymentAlreadyUsed');
  });

  it('refuses a write over the contract quota without spending its payment', async () => {
    const payment = await pay(videoCom, bob, 5_00n, 'big-write');
    expect(await refusal(videoCom.node.write(contract.contractId, 'big', randomBytes(4096 - 1000 + 1), payment))).toBe('quotaExceeded');
    // the payment is still good for a write that fits
    const receipt = await videoCom.node.write(contract.contractId, 'fits', randomBytes(4096 - 1000), payment);
    expect(receipt.remainingBytes).toBe(0);
    expect(await refusal(videoCom.node.write(contract.contractId, 'full', randomBytes(1), await pay(videoCom, bob, 1_00n, 'full')))).toBe('quotaExceeded');
  });

  it('keeps concurrent writes within the quota together', async () => {
    const fresh = await buyContract(videoCom, bob);
    const payments = await Promise.all([pay(videoCom, bob, 3_00n, 'race-a'), pay(videoCom, bob, 3_00n, 'race-b')]);
    const outcomes = await Promise.allSettled(payments.map((p, i) => videoCom.node.write(fresh.contractId, `race-${i}`, randomBytes(3000), p)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const rejected = outcomes.find((o) => o.status === 'rejected');
    expect((rejected?.reason as StorageNodeProblemError).code).toBe('quotaExceeded');
    expect((await videoCom.node.contract(fresh.contractId)).usedBytes).toBe(3000);
  });

  it('refuses writes and reads under a contract the caller does not hold', async () => {
    const payment = await pay(mallory, bob, 4_00n, 'mallory');
    expect(await refusal(mallory.node.requestRetrieval(contract.contractId, 'clip', { reader: mallory.holder.id, paymentTransactionId: payment }))).toBe(
      'notContractHolder',
    );
    expect(await refusal(mallory.node.write(contract.contractId, 'x', randomBytes(10), payment))).toBe('notContractHolder');
  });

  it('refuses an object id that is not a plain name, and an object stored twice', async () => {
    for (const bad of ['.hidden', 'a b', 'x'.repeat(129)]) {
      expect(await refusal(videoCom.node.write(contract.contractId, bad, randomBytes(1), 'x'))).toBe('invalidObjectId');
    }
    expect(await refusal(videoCom.node.write(contract.contractId, 'clip', randomBytes(1), 'x'))).toBe('objectExists');
  });

  describe('retrieval instructions', () => {
    let instruction: RetrievalInstruction;
    beforeAll(async () => {
      instruction = await requestRetrieval(videoCom, contract, 'clip', alice.holder.id, video.length);
    });

    it('refuses an instruction presented by another reader, and still serves the named one', async () => {
      const stolen = await rawRetrieve(bob.url, header(instruction), mallory.holder);
      expect([stolen.status, problemCode(stolen.body)]).toEqual([403, 'wrongReader']);
      const anonymous = await rawRetrieve(bob.url, header(instruction));
      expect([anonymous.status, problemCode(anonymous.body)]).toEqual([403, 'clientCertificateRequired']);
      const reader = StorageNodeClient.forInstruction(instruction, { credentials: alice.holder });
      expect((await reader.retrieve(instruction)).equals(video)).toBe(true);
      reader.close();
    });

    it('refuses a replayed instruction', async () => {
      const replay = await rawRetrieve(bob.url, header(instruction), alice.holder);
      expect([replay.status, problemCode(replay.body)]).toEqual([409, 'instructionUsed']);
    });

    it('refuses altered and forged instructions', async () => {
      const fresh = await requestRetrieval(videoCom, contract, 'clip', alice.holder.id, video.length);
      const altered = [
        { ...fresh, objectId: 'fits' },
        { ...fresh, reader: mallory.holder.id },
        { ...fresh, expiresAt: new Date(Date.now() + 3600_000).toISOString() },
        { ...fresh, nonce: 'A'.repeat(22) },
      ];
      for (const instruction of altered) {
        const answer = await rawRetrieve(bob.url, header(instruction), alice.holder);
        expect([answer.status, problemCode(answer.body)]).toEqual([403, 'instructionInvalid']);
      }
      // signed by someone else claiming to be Bob
      const unsigned = Object.fromEntries(Object.entries(fresh).filter(([key]) => key !== 'signature'));
      const forged = signDocument('retrieval', unsigned, generateIdentity().privateKey);
      expect(problemCode((await rawRetrieve(bob.url, header(forged), alice.holder)).body)).toBe('instructionInvalid');
      expect(problemCode((await rawRetrieve(bob.url, 'not base64 json', alice.holder)).body)).toBe('instructionMalformed');
      expect(problemCode((await rawRetrieve(bob.url, undefined, alice.holder)).body)).toBe('instructionMissing');
      // the untouched instruction still works
      expect((await rawRetrieve(bob.url, header(fresh), alice.holder)).body.equals(video)).toBe(true);
    });

    it('refuses an expired instruction', async () => {
      const fresh = await requestRetrieval(videoCom, contract, 'clip', alice.holder.id, video.length);
      skewMs = 301_000;
      try {
        const late = await rawRetrieve(bob.url, header(fresh), alice.holder);
        expect([late.status, problemCode(late.body)]).toEqual([410, 'instructionExpired']);
      } finally {
        skewMs = 0;
      }
    });
  });

  it('refuses writes and reads once the contract has expired', async () => {
    const payment = await pay(videoCom, bob, 4_00n, 'late');
    skewMs = 14 * 24 * 3600 * 1000 + 1000;
    try {
      expect(await refusal(videoCom.node.requestRetrieval(contract.contractId, 'clip', { reader: alice.holder.id, paymentTransactionId: payment }))).toBe(
        'contractExpired',
      );
      expect(await refusal(videoCom.node.write(contract.contractId, 'late', randomBytes(10), payment))).toBe('contractExpired');
    } finally {
      skewMs = 0;
    }
  });
});

describe('restart', () => {
  it('keeps contracts, content and used payments', async () => {
    const contract = await buyContract(videoCom, bob);
    const video = randomBytes(3000);
    await store(videoCom, bob, contract, 'kept', video);
    const spent = await pay(videoCom, bob, 12_00n, 'before-restart'); // 3 KB at 4 per KB
    await videoCom.node.requestRetrieval(contract.contractId, 'kept', { reader: alice.holder.id, paymentTransactionId: spent });

    const nodeId = bob.nodeId;
    await bob.close();
    videoCom.node.close();
    bob = await startTestNode(t, home, {}, { now: () => Date.now() + skewMs });
    expect(bob.nodeId).toBe(nodeId);
    const buyer = new StorageNodeClient({ url: bob.url, nodeId: bob.nodeId, credentials: videoCom.holder });
    videoCom.node = buyer;

    const status = await buyer.contract(contract.contractId);
    expect(status.objects).toEqual([{ objectId: 'kept', size: 3000, sha256: createHash('sha256').update(video).digest('hex') }]);
    expect(await refusal(buyer.requestRetrieval(contract.contractId, 'kept', { reader: alice.holder.id, paymentTransactionId: spent }))).toBe(
      'paymentAlreadyUsed',
    );
    const instruction = await requestRetrieval(videoCom, contract, 'kept', alice.holder.id, video.length);
    const reader = StorageNodeClient.forInstruction(instruction, { credentials: alice.holder });
    expect((await reader.retrieve(instruction)).equals(video)).toBe(true);
    reader.close();
  });
});

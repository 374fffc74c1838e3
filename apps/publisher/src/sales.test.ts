// video.com's side of Figure 2 with a real issuer and real storage nodes: a sale delivers the
// exact bytes; a peer that fails after it was paid costs the buyer nothing.
import { afterEach, expect, it } from 'vitest';
import { loopbackLookup } from '@lcp/client';
import { StorageNodeClient, type RetrievalInstruction } from '@lcp/storage-node';
import { newBuyer, startWorld, videoApi, type World } from './test-support.js';

let world: World | undefined;
afterEach(() => world?.stop());

async function buy(w: World, buyer: Awaited<ReturnType<typeof newBuyer>>) {
  const negotiated = await videoApi(w, 'POST', '/purchases', { videoId: 'clip', currency: w.money.wsdlUrl, buyer: buyer.id });
  expect(negotiated.status).toBe(201);
  expect(negotiated.json).toMatchObject({ price: '25', payee: w.video.entityId, status: 'awaiting-payment' });
  const paid = await buyer.client.transferFunds({
    recipient: w.video.entityId,
    amount: 25_00n,
    transactionId: negotiated.json.transactionId as string,
  });
  expect(paid.result).toBe('success');
  return (await videoApi(w, 'GET', `/purchases/${negotiated.json.purchaseId as string}?wait=15000`)).json;
}

it('sells a video: the buyer pays video.com, video.com pays the peer, the buyer gets the exact bytes', async () => {
  world = await startWorld(1);
  const [peer] = world.nodes;
  await world.video.placeVideo('clip', { url: peer!.url, nodeId: peer!.nodeId });
  const buyer = await newBuyer(world, 100_00n);
  const before = await world.money.ledger.balance(peer!.nodeId);

  const purchase = await buy(world, buyer);
  expect(purchase.status).toBe('ready');
  const instruction = purchase.instruction as RetrievalInstruction;
  const reader = StorageNodeClient.forInstruction(instruction, { credentials: buyer.credentials, lookup: loopbackLookup });
  expect((await reader.retrieve(instruction)).equals(world.videoBytes)).toBe(true);
  reader.close();

  // 150 KiB at 0.02 per KiB: the peer earned exactly the read price
  expect((await world.money.ledger.balance(peer!.nodeId)) - before).toBe(150n * 2n);
  expect((await world.money.ledger.totals()).sum).toBe(0n);
  expect(world.video.peers()).toMatchObject([{ nodeId: peer!.nodeId, successes: 1, failures: 0 }]);
  buyer.client.close();
}, 30_000);

it('tries the next replica when a peer fails, and refunds the buyer when none can serve', async () => {
  world = await startWorld(2);
  const [first, second] = world.nodes;
  await world.video.placeVideo('clip', { url: first!.url, nodeId: first!.nodeId });
  await world.video.placeVideo('clip', { url: second!.url, nodeId: second!.nodeId });
  const buyer = await newBuyer(world, 100_00n);

  await first!.close(); // fails after placement: the sale goes to the second replica
  const served = await buy(world, buyer);
  expect(served.status).toBe('ready');
  expect((served.instruction as RetrievalInstruction).nodeId).toBe(second!.nodeId);

  await second!.close(); // now no replica can serve: the buyer is refunded
  const balanceBefore = await world.money.ledger.balance(buyer.id as never);
  const refunded = await buy(world, buyer);
  expect(refunded).toMatchObject({ status: 'refunded' });
  // the buyer paid 25 + fee and got 25 back: out of pocket only the issuer's fee, never twice
  const fee = balanceBefore - (await world.money.ledger.balance(buyer.id as never));
  expect(fee).toBeGreaterThan(0n);
  expect(fee).toBeLessThan(1_00n);
  expect((await world.money.ledger.totals()).sum).toBe(0n);
  buyer.client.close();
}, 60_000);

it('refuses bad purchase requests with problem documents and records nothing', async () => {
  world = await startWorld(0);
  const unknown = await videoApi(world, 'POST', '/purchases', { videoId: 'nope', currency: world.money.wsdlUrl, buyer: 'ab'.repeat(32) });
  expect(unknown).toMatchObject({ status: 404, json: { title: 'unknownVideo' } });
  const currency = await videoApi(world, 'POST', '/purchases', { videoId: 'clip', currency: 'http://other/lcp.wsdl', buyer: 'ab'.repeat(32) });
  expect(currency).toMatchObject({ status: 400, json: { title: 'currencyNotAccepted' } });
  const buyer = await videoApi(world, 'POST', '/purchases', { videoId: 'clip', currency: world.money.wsdlUrl, buyer: 'alice' });
  expect(buyer).toMatchObject({ status: 400, json: { title: 'invalidBuyer' } });
  const missing = await videoApi(world, 'POST', '/purchases', { videoId: 'clip' });
  expect(missing).toMatchObject({ status: 400, json: { title: 'badRequest' } });
  expect(await videoApi(world, 'GET', '/purchases/unknown')).toMatchObject({ status: 404, json: { title: 'unknownPurchase' } });
});

// @lcp/client against a real issuer: what a holder's program relies on when things go wrong.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LcpFaultError, MemoryStateStore } from '@lcp/client';
import { connectHolder, newHolder, rawClient, startTestIssuer, type TestHolder, type TestIssuer } from './test-support.js';

let t: TestIssuer;
let payer: TestHolder;
let payee: TestHolder;

beforeAll(async () => {
  t = await startTestIssuer({ LCP_FEE_RATE_PPM: '0', LCP_FEE_RESUMED_RATE_PPM: '0' });
  [payer, payee] = await Promise.all([newHolder(), newHolder()]);
  await t.issuer.ledger.mint(payer.id, 1000_00n, 'fund');
});
afterAll(() => t.stop());

it('is not stuck after a transfer the issuer refused', async () => {
  const client = await connectHolder(t, payer);
  await expect(client.transferFunds({ recipient: 'nobody', amount: 1n, transactionId: 'bad' })).rejects.toBeInstanceOf(LcpFaultError);
  expect(await client.transferFunds({ recipient: payee.id, amount: 1n, transactionId: 'good' })).toMatchObject({ result: 'success' });
  client.close();
});

it('answers a retried order whose first answer was lost without paying twice', async () => {
  const state = new MemoryStateStore();
  const saved = await state.load();
  const counter = (BigInt(saved.counter) + 1n).toString();
  // the holder saved the transfer, sent it, and crashed before the answer came back
  await state.save({ ...saved, counter, pending: { counter, recipient: payee.id, amount: '500', transactionId: 'lost-answer' } });
  const { client: raw } = await rawClient(t, payer);
  await raw.transferFundsAsync({ recipient: payee.id, amount: '5', transactionId: 'lost-answer', messageCounter: counter });
  const before = await t.issuer.ledger.balance(payer.id);

  const client = await connectHolder(t, payer, { state });
  const answer = await client.transferFunds({ recipient: payee.id, amount: 500n, transactionId: 'lost-answer' });
  expect(answer).toEqual({ result: 'success', fee: 0n });
  expect(await t.issuer.ledger.balance(payer.id)).toBe(before); // answered from the stored response
  expect((await state.load()).pending).toBeUndefined();
  client.close();
});

it('keeps its counter right while deposits are collected concurrently', async () => {
  const client = await connectHolder(t, payee);
  const payerClient = await connectHolder(t, payer);
  const polling = client.waitForDeposit('concurrent-1', 5000);
  // the payee pays someone while its long-poll is open: both change the same saved state
  await payerClient.transferFunds({ recipient: payee.id, amount: 300n, transactionId: 'fund-payee' });
  await client.transferFunds({ recipient: payer.id, amount: 100n, transactionId: 'back' });
  await payerClient.transferFunds({ recipient: payee.id, amount: 7n, transactionId: 'concurrent-1' });
  expect(await polling).toMatchObject({ transactionId: 'concurrent-1', amount: 7n });
  expect(await client.transferFunds({ recipient: payer.id, amount: 1n, transactionId: 'after' })).toMatchObject({ result: 'success' });
  expect((await client.inbox()).map((d) => d.transactionId)).toContain('fund-payee');
  client.close();
  payerClient.close();
});

it('reports a lost transfer that a later, different order settled, through recoverPending()', async () => {
  const state = new MemoryStateStore();
  const saved = await state.load();
  const counter = (BigInt(saved.counter) + 1n).toString();
  await state.save({ ...saved, counter, pending: { counter, recipient: payee.id, amount: '200', transactionId: 'settled-later' } });
  const client = await connectHolder(t, payer, { state });
  // the program moves on to another payment: the earlier one is settled first, and not forgotten
  expect(await client.transferFunds({ recipient: payee.id, amount: 300n, transactionId: 'next' })).toMatchObject({ result: 'success' });
  expect(await client.recoverPending()).toEqual({
    order: { recipient: payee.id, amount: 200n, transactionId: 'settled-later' },
    response: { result: 'success', fee: 0n },
  });
  expect(await client.recoverPending()).toBeUndefined();
  client.close();
});

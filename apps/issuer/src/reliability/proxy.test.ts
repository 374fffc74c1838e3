// The fault proxy does what the reliability suite's summary says it did: each fault is tried
// on its own against an in-process issuer, and the ledger is read before the holder recovers,
// so "dropped" means the issuer never saw the request and "cut after commit" means it
// committed a transfer whose answer the holder never got.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LcpNetworkError, type IssuerClient } from '@lcp/client';
import { connectHolder, newHolder, startTestIssuer, type TestHolder, type TestIssuer } from '../test-support.js';
import { FaultProxy, type ExchangeAction } from './test-proxy.js';

let proxy: FaultProxy;
let t: TestIssuer;
let payer: TestHolder;
let other: TestHolder;
let payee: TestHolder;

beforeAll(async () => {
  proxy = await FaultProxy.start();
  t = await startTestIssuer({ LCP_PUBLIC_URL: `https://money.com:${proxy.port}/lcp` });
  proxy.upstreamPort = t.issuer.httpsPort;
  [payer, other, payee] = await Promise.all([newHolder(), newHolder(), newHolder()]);
  await t.issuer.ledger.mint(payer.id, 1_000_000n, 'fund-payer');
  await t.issuer.ledger.mint(other.id, 1_000_000n, 'fund-other');
});
afterAll(async () => {
  await t.stop();
  await proxy.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The journal ids of the transfers with this transactionId, as the payee's statement shows them. */
async function committed(transactionId: string): Promise<bigint[]> {
  const entries = await t.issuer.ledger.statement(payee.id);
  return entries.filter((e) => e.transactionId === transactionId).map((e) => e.id);
}

/** Polls `check` until it holds (the issuer commits asynchronously to the holder's view). */
async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(20);
  }
}

/** Applies `action` to every request exchange (not the ClientHello) while `run` runs. */
async function withFault<T>(action: ExchangeAction, run: () => Promise<T>, from = 1): Promise<T> {
  proxy.decide = ({ exchange }) => (exchange >= from ? action : { kind: 'pass' });
  try {
    return await run();
  } finally {
    proxy.decide = () => ({ kind: 'pass' });
  }
}

async function lostAnswer(client: IssuerClient, transactionId: string): Promise<void> {
  await expect(client.transferFunds({ recipient: payee.id, amount: 1n, transactionId })).rejects.toBeInstanceOf(LcpNetworkError);
}

it('drop: the issuer never sees the request', async () => {
  const client = await connectHolder(t, payer, { retries: 0 });
  for (let i = 0; i < 3; i++) {
    await withFault({ kind: 'drop' }, () => lostAnswer(client, `drop-${i}`));
    await sleep(50);
    expect(await committed(`drop-${i}`)).toEqual([]);
    expect((await client.recoverPending())?.response.result).toBe('success'); // the retransmission pays, once
    expect(await committed(`drop-${i}`)).toHaveLength(1);
  }
  client.close();
});

it('cut after commit: the issuer commits, the holder never sees the answer, on a new or a reused connection', async () => {
  const client = await connectHolder(t, payer, { retries: 0 });
  for (let i = 0; i < 6; i++) {
    // even i: the first request of a new connection (the cut also destroyed the last one);
    // odd i: a request on a connection that already carried one
    if (i % 2 === 1) await client.transferFunds({ recipient: payee.id, amount: 1n, transactionId: `before-cut-${i}` });
    await withFault({ kind: 'cut' }, () => lostAnswer(client, `cut-${i}`), i % 2 === 1 ? 2 : 1);
    await eventually(async () => (await committed(`cut-${i}`)).length === 1); // before any retransmission
    expect((await client.recoverPending())?.response.result).toBe('success');
    expect(await committed(`cut-${i}`)).toHaveLength(1);
  }
  client.close();
});

it('delay longer than the client waits: the request is delivered after the holder gave up', async () => {
  const client = await connectHolder(t, payer, { retries: 0, timeoutMs: 300 });
  const late = proxy.stats.late;
  await withFault({ kind: 'delay', ms: 600, direction: 'up' }, () => lostAnswer(client, 'late-1'));
  expect(await committed('late-1')).toEqual([]);
  await eventually(async () => proxy.stats.late === late + 1);
  await eventually(async () => (await committed('late-1')).length === 1); // delivered late, and committed
  expect((await client.recoverPending())?.response.result).toBe('success'); // replayed, not paid again
  expect(await committed('late-1')).toHaveLength(1);
  // held answer: committed at once, the answer comes too late
  await withFault({ kind: 'delay', ms: 600, direction: 'down' }, () => lostAnswer(client, 'late-2'));
  await eventually(async () => (await committed('late-2')).length === 1);
  await client.recoverPending();
  expect(await committed('late-2')).toHaveLength(1);
  client.close();
});

it('reorder: a held request arrives after a later one from another connection', async () => {
  const first = await connectHolder(t, payer);
  const second = await connectHolder(t, other);
  await first.transferFunds({ recipient: payee.id, amount: 1n, transactionId: 'warm-1' });
  await second.transferFunds({ recipient: payee.id, amount: 1n, transactionId: 'warm-2' });
  const reorders = proxy.stats.reorder;
  proxy.decide = ({ exchange }) => (exchange >= 2 ? { kind: 'reorder', ms: 5000 } : { kind: 'pass' });
  const held = first.transferFunds({ recipient: payee.id, amount: 1n, transactionId: 'sent-first' });
  await eventually(async () => proxy.stats.reorder === reorders + 1); // held at the proxy now
  proxy.decide = () => ({ kind: 'pass' });
  await second.transferFunds({ recipient: payee.id, amount: 1n, transactionId: 'sent-second' });
  await held;
  const [a] = await committed('sent-first');
  const [b] = await committed('sent-second');
  expect(b).toBeLessThan(a as bigint); // the journal shows the order of arrival
  expect(proxy.stats.overtaken).toBeGreaterThanOrEqual(1);
  first.close();
  second.close();
});

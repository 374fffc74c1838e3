// The issuer over real TLS on loopback, driven by real SOAP clients (node-soap through
// @lcp/client, and bare node-soap where a test must choose every element).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LcpFaultError } from '@lcp/client';
import { childTraceparent, parseTraceparent, type EntityId, type TraceEvent } from '@lcp/protocol';
import {
  connectHolder,
  faultOf,
  loopback,
  newHolder,
  rawClient,
  startTestIssuer,
  type TestHolder,
  type TestIssuer,
} from './test-support.js';

const dollars = (n: number | string) => BigInt(Math.round(Number(n) * 100)); // scale 2, test values only

describe('money.com over SOAP/TLS', () => {
  let t: TestIssuer;
  let alice: TestHolder;
  let bob: TestHolder;

  beforeAll(async () => {
    // the paper's fee: 1.2 on 100, whatever the session
    t = await startTestIssuer({ LCP_FEE_RATE_PPM: '12000', LCP_FEE_RESUMED_RATE_PPM: '12000', LCP_ISSUANCE_CAP: '100000000' });
    [alice, bob] = await Promise.all([newHolder(), newHolder()]);
  });
  afterAll(() => t.stop());

  it('replays Figure 1: Alice pays Bob 10 of her 100, Bob collects the deposit', async () => {
    const claire = await startTestIssuer({ LCP_FEE_RATE_PPM: '0', LCP_FEE_RESUMED_RATE_PPM: '0' }, 'claire.com');
    try {
      await claire.issuer.ledger.mint(alice.id, dollars(100), 'initial');
      const a = await connectHolder(claire, alice);
      const b = await connectHolder(claire, bob);
      const response = await a.transferFunds({ recipient: bob.id, amount: dollars(10), transactionId: '12345678' });
      expect(response).toEqual({ result: 'success', fee: 0n });
      const deposits = await b.getDeposits({ millisecondsWait: 3000 });
      expect(deposits.deposits).toMatchObject([{ transactionId: '12345678', amount: dollars(10) }]);
      expect(deposits.balance).toBe(dollars(10));
      expect(await claire.issuer.ledger.balance(alice.id)).toBe(dollars(90));
      expect((await claire.issuer.ledger.totals()).sum).toBe(0n);
      a.close();
      b.close();
    } finally {
      await claire.stop();
    }
  });

  it('charges the fee on top: 100 sent, 101.2 debited, fee 1.2', async () => {
    const payer = await newHolder();
    await t.issuer.ledger.mint(payer.id, dollars(200), 'fund-payer');
    const client = await connectHolder(t, payer);
    const response = await client.transferFunds({ recipient: bob.id, amount: dollars(100), transactionId: 'fee-1' });
    expect(response).toEqual({ result: 'success', fee: dollars(1.2) });
    expect(await t.issuer.ledger.balance(payer.id)).toBe(dollars(200 - 101.2));
    client.close();
  });

  it('answers insufficientFunds and moves nothing', async () => {
    const poor = await newHolder();
    await t.issuer.ledger.mint(poor.id, dollars(5), 'fund-poor');
    const client = await connectHolder(t, poor);
    const response = await client.transferFunds({ recipient: bob.id, amount: dollars(5), transactionId: 'too-much' });
    expect(response.result).toBe('insufficientFunds'); // 5 + fee 0.06 > 5
    expect(await t.issuer.ledger.balance(poor.id)).toBe(dollars(5));
    client.close();
  });

  it('creates the account of an unknown recipient and refuses a malformed one', async () => {
    const stranger = await newHolder();
    const payer = await newHolder();
    await t.issuer.ledger.mint(payer.id, dollars(10), 'fund-stranger-payer');
    const client = await connectHolder(t, payer);
    expect((await client.transferFunds({ recipient: stranger.id, amount: dollars(1), transactionId: 'new' })).result).toBe('success');
    expect(await t.issuer.ledger.balance(stranger.id)).toBe(dollars(1));
    const refused = client.transferFunds({ recipient: 'BOCF...7E24', amount: dollars(1), transactionId: 'bad' });
    await expect(refused).rejects.toMatchObject({ code: 'invalidRecipient' });
    await expect(refused).rejects.toBeInstanceOf(LcpFaultError);
    client.close();
  });

  it('refuses minting beyond the issuance cap', async () => {
    const whale = await newHolder();
    const outcome = await t.issuer.ledger.mint(whale.id, 100_000_001n, 'too-much-money');
    expect(outcome).toMatchObject({ response: { result: 'issuanceCapExceeded' } });
    expect(await t.issuer.ledger.balance(whale.id)).toBe(0n);
  });

  it('answers a retransmission from the stored response, and refuses counter misuse', async () => {
    const sender = await newHolder();
    await t.issuer.ledger.mint(sender.id, dollars(50), 'fund-retransmit');
    const { client } = await rawClient(t, sender, { keepAlive: true });
    const request = { recipient: bob.id, amount: '10', transactionId: 'r-1', messageCounter: '3398' };
    const [first] = await client.transferFundsAsync(request);
    const [again] = await client.transferFundsAsync(request);
    expect(first).toEqual({ result: 'success', fee: '0.12' });
    expect(again).toEqual(first);
    expect(await t.issuer.ledger.balance(sender.id)).toBe(dollars(50 - 10.12)); // debited once
    expect(await faultOf(client.transferFundsAsync({ ...request, amount: '11' }))).toBe('soap:Client.counterReused');
    expect(await faultOf(client.transferFundsAsync({ ...request, messageCounter: '3397' }))).toBe('soap:Client.counterTooLow');
    expect(await t.issuer.ledger.balance(sender.id)).toBe(dollars(50 - 10.12));
  });

  it('wakes a waiting getDeposits within milliseconds and returns empty after millisecondsWait', async () => {
    const payer = await newHolder();
    const payee = await newHolder();
    await t.issuer.ledger.mint(payer.id, dollars(10), 'fund-poll');
    const [p, q] = await Promise.all([connectHolder(t, payer), connectHolder(t, payee)]);
    const emptyStart = Date.now();
    expect((await q.getDeposits({ millisecondsWait: 300 })).deposits).toEqual([]);
    expect(Date.now() - emptyStart).toBeGreaterThanOrEqual(290);

    const waiting = q.getDeposits({ millisecondsWait: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const paid = Date.now();
    await p.transferFunds({ recipient: payee.id, amount: dollars(1), transactionId: 'poll-1' });
    const answer = await waiting;
    expect(answer.deposits).toMatchObject([{ transactionId: 'poll-1', amount: dollars(1) }]);
    expect(Date.now() - paid).toBeLessThan(1000); // far from the 10 s wait; typically a few ms
    p.close();
    q.close();
  });

  it('delivers an unacknowledged deposit again, and not once acknowledged', async () => {
    const payer = await newHolder();
    const payee = await newHolder();
    await t.issuer.ledger.mint(payer.id, dollars(10), 'fund-ack');
    const [p, q] = await Promise.all([connectHolder(t, payer), connectHolder(t, payee)]);
    await p.transferFunds({ recipient: payee.id, amount: dollars(2), transactionId: 'ack-1' });
    const first = await q.getDeposits({ millisecondsWait: 0, acknowledge: 0n });
    const again = await q.getDeposits({ millisecondsWait: 0, acknowledge: 0n }); // the first answer was "lost"
    expect(again.deposits).toEqual(first.deposits);
    const sequence = first.deposits[0]?.sequence ?? 0n;
    expect(sequence).toBeGreaterThan(0n);
    expect((await q.getDeposits({ millisecondsWait: 0, acknowledge: sequence })).deposits).toEqual([]);
    expect(await q.waitForDeposit('ack-1', 100)).toBeUndefined(); // acknowledged: gone for good
    p.close();
    q.close();
  });

  it('refuses a request without a client certificate', async () => {
    const { client } = await rawClient(t, undefined);
    const request = { recipient: bob.id, amount: '1', transactionId: 'x', messageCounter: '1' };
    expect(await faultOf(client.transferFundsAsync(request))).toBe('soap:Client.noClientCertificate');
    expect(await faultOf(client.getDepositsAsync({ millisecondsWait: '0' }))).toBe('soap:Client.noClientCertificate');
  });

  it('never lets a holder move another holder\'s funds: the account is the certificate', async () => {
    const victim = await newHolder();
    const thief = await newHolder();
    await t.issuer.ledger.mint(victim.id, dollars(10), 'fund-victim');
    const { client } = await rawClient(t, thief);
    // a body that names the victim as sender: the element is not part of LCP and is ignored
    const [answer] = await client.transferFundsAsync({
      sender: victim.id,
      recipient: bob.id,
      amount: '5',
      transactionId: 'steal',
      messageCounter: '1',
    });
    expect(answer).toMatchObject({ result: 'insufficientFunds' }); // the thief's own empty account
    expect(await t.issuer.ledger.balance(victim.id)).toBe(dollars(10));
  });

  it('keeps the sum at zero under many concurrent random transfers', async () => {
    const holders = await Promise.all(Array.from({ length: 8 }, () => newHolder()));
    for (const h of holders) await t.issuer.ledger.mint(h.id, dollars(100), `fund-${h.id.slice(0, 8)}`);
    const clients = await Promise.all(holders.map((h) => connectHolder(t, h)));
    let seed = 42;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const results = await Promise.all(
      clients.map(async (client, i) => {
        const outcomes: string[] = [];
        for (let k = 0; k < 40; k++) {
          const to = holders[(i + 1 + random(holders.length - 1)) % holders.length] as TestHolder;
          const amount = BigInt(1 + random(3000));
          const r = await client.transferFunds({ recipient: to.id, amount, transactionId: `rnd-${i}-${k}` });
          outcomes.push(r.result);
        }
        return outcomes;
      }),
    );
    const totals = await t.issuer.ledger.totals();
    expect(totals.sum).toBe(0n);
    expect(totals.negativeAccounts).toEqual([]);
    expect(results.flat().filter((r) => r === 'success').length).toBeGreaterThan(100);
    for (const c of clients) c.close();
  });
});

describe('the resumed-session fee discount', () => {
  let t: TestIssuer;
  beforeAll(async () => {
    t = await startTestIssuer({ LCP_FEE_RATE_PPM: '15000', LCP_FEE_RESUMED_RATE_PPM: '12000' });
  });
  afterAll(() => t.stop());

  it('charges the full fee after a full handshake and the lower fee on a resumed session', async () => {
    const holder = await newHolder();
    const payee = (await newHolder()).id as EntityId;
    await t.issuer.ledger.mint(holder.id, dollars(1000), 'fund-resume');
    // a new TLS connection per request; the agent offers the cached session to the next one
    const { client, agent } = await rawClient(t, holder, { keepAlive: false, maxCachedSessions: 10 });
    const before = t.issuer.handshakes();
    const [full] = await client.transferFundsAsync({ recipient: payee, amount: '100', transactionId: 'f', messageCounter: '1' });
    const [resumed] = await client.transferFundsAsync({ recipient: payee, amount: '100', transactionId: 'r', messageCounter: '2' });
    const after = t.issuer.handshakes();
    expect(full).toEqual({ result: 'success', fee: '1.5' });
    expect(resumed).toEqual({ result: 'success', fee: '1.2' });
    expect(after.full - before.full).toBe(1);
    expect(after.resumed - before.resumed).toBe(1);
    agent.destroy();
  });
});

describe('serving', () => {
  it('serves lcp.wsdl and /healthz over plain HTTP, the WSDL naming the HTTPS service', async () => {
    const t = await startTestIssuer();
    try {
      const get = (path: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          http
            .get({ host: 'money.com', port: t.issuer.httpPort, path, lookup: loopback }, (res) => {
              let body = '';
              res.on('data', (chunk: Buffer) => (body += chunk.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            })
            .on('error', reject);
        });
      const wsdl = await get('/lcp.wsdl');
      expect(wsdl.status).toBe(200);
      expect(wsdl.body).toContain(`<soap:address location="https://money.com:${t.issuer.httpsPort}/lcp"/>`);
      expect(JSON.parse((await get('/healthz')).body)).toEqual({ status: 'ok' });
    } finally {
      await t.stop();
    }
  });

  it('answers waiting long-polls when it shuts down, then stops', async () => {
    const t = await startTestIssuer();
    const holder = await newHolder();
    const client = await connectHolder(t, holder, { retries: 0 });
    const waiting = client.getDeposits({ millisecondsWait: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await t.stop();
    expect(await waiting).toEqual({ deposits: [], fee: 0n, balance: 0n });
    expect(Date.now() - started).toBeLessThan(5000);
    client.close();
  });
});

describe('tracing', () => {
  it('records traced requests under the caller\'s trace id, in order', async () => {
    const events: TraceEvent[] = [];
    const t = await startTestIssuer({}, 'money.com', { onTrace: (e) => events.push(e) });
    try {
      const [payer, payee] = await Promise.all([newHolder(), newHolder()]);
      await t.issuer.ledger.mint(payer.id, 10_00n, 'fund');
      const client = await connectHolder(t, payer);
      const traceparent = childTraceparent();
      await client.transferFunds({ recipient: payee.id, amount: 1_00n, transactionId: 'traced' }, { traceparent });
      await client.transferFunds({ recipient: payee.id, amount: 1_00n, transactionId: 'untraced' });
      const { traceId } = parseTraceparent(traceparent) ?? {};
      expect(events.map((e) => [e.traceId, e.party, e.peer, e.what])).toEqual([
        [traceId, 'money.com', payer.id, 'transferFunds received: traced'],
        [traceId, 'money.com', payer.id, 'transferFunds committed: success'],
      ]);
      expect((events[1]?.at ?? 0) >= (events[0]?.at ?? 1)).toBe(true);
      client.close();
    } finally {
      await t.stop();
    }
  });
});

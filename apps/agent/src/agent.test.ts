// The local LCP agent against a real issuer: policies are enforced before anything reaches the
// issuer, the local interface is loopback-only and token-protected, deposits are found once
// they arrive.
import http from 'node:http';
import { networkInterfaces } from 'node:os';
import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuerClient } from '@lcp/client';
import { parseConfig, ConfigError } from './config.js';
import { runCli } from './cli.js';
import {
  call,
  connectHolder,
  newHolder,
  startTestAgent,
  startTestIssuer,
  type TestAgent,
  type TestHolder,
  type TestIssuer,
  type TraceEvent,
} from './test-support.js';

let t: TestIssuer;
let other: TestIssuer;
let money: string;
let claire: string;
let seller: TestHolder;
const issuerTraces: TraceEvent[] = [];

const policy = () => ({
  currencies: { [money]: { scale: 2 }, [claire]: { scale: 2 } },
  accept: [money],
  applications: {
    player: { spending: { [money]: { perDay: '10', perPurchase: '4' } } },
    seller: { spending: {} },
  },
});

beforeAll(async () => {
  [t, other] = await Promise.all([startTestIssuer({}, 'money.com', (e) => issuerTraces.push(e)), startTestIssuer({}, 'claire.com')]);
  money = t.issuer.wsdlUrl;
  claire = other.issuer.wsdlUrl;
  seller = await newHolder();
}, 30_000);
afterAll(async () => {
  await Promise.all([t?.stop(), other?.stop()]);
});

/** What the issuer has seen: the number of committed transfers, and a holder's balance. */
const issuerState = async (id: string) => ({ transfers: (await t.issuer.ledger.totals()).transfers, balance: await t.issuer.ledger.balance(id) });

describe('the local interface', () => {
  let a: TestAgent;
  beforeAll(async () => {
    a = await startTestAgent(t, policy());
  });
  afterAll(() => a?.stop());

  it('tells the user identity to an application with its token, and keeps the key private', async () => {
    const { status, body } = await call(a.agent, 'GET', '/v1/identity', { token: a.tokens.player });
    expect(status).toBe(200);
    expect(body.entityId).toBe(a.agent.entityId);
    expect((await stat(`${a.home}/identity.pem`)).mode & 0o777).toBe(0o600);
  });

  it('refuses requests without the application token, or with a wrong one', async () => {
    for (const token of [undefined, 'lcp_not-a-token', `${a.tokens.player}x`]) {
      const { status, body } = await call(a.agent, 'POST', '/v1/payments', {
        ...(token ? { token } : {}),
        body: { to: seller.id, amount: '1', currency: money, transactionId: 'no-token' },
      });
      expect(status).toBe(401);
      expect(body.code).toBe('unauthorized');
    }
    expect((await call(a.agent, 'GET', '/v1/balances')).status).toBe(401);
  });

  it('is bound to 127.0.0.1 only, and refuses another host name', async () => {
    expect(a.agent.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(() => parseConfig({ ...a.env, LCP_AGENT_HOST: '0.0.0.0' })).toThrow(ConfigError);
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (external) {
      // the same port on this machine's other address: nothing listens there
      await expect(fetch(`http://${external}:${a.agent.port}/v1/identity`)).rejects.toThrow();
    }
    // a page at another name resolving to 127.0.0.1 (DNS rebinding) is refused
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: a.agent.port, path: '/v1/identity', headers: { host: 'evil.example', authorization: `Bearer ${a.tokens.player}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(status).toBe(403);
  });

  it('picks up a token made with `token create` without a restart', async () => {
    const printed: string[] = [];
    await runCli(['token', 'create', '--app', 'newcomer'], a.env, (line) => printed.push(line));
    const [token] = printed;
    expect(token).toMatch(/^lcp_[A-Za-z0-9_-]{43}$/);
    const { status } = await call(a.agent, 'GET', '/v1/identity', { token: token as string });
    expect(status).toBe(200);
    const ids: string[] = [];
    await runCli(['identity'], a.env, (line) => ids.push(line));
    expect(ids).toEqual([a.agent.entityId]);
  });
});

describe('spending policies', () => {
  let a: TestAgent;
  let before: { transfers: number; balance: bigint };

  beforeAll(async () => {
    a = await startTestAgent(t, policy());
    await t.issuer.ledger.mint(a.agent.entityId as never, 100_00n, `fund-${a.agent.entityId}`);
  });
  afterAll(() => a?.stop());

  const pay = (amount: string, transactionId: string, currency = money) =>
    call(a.agent, 'POST', '/v1/payments', { token: a.tokens.player, body: { to: seller.id, amount, currency, transactionId } });

  it('pays within the limits, and answers a repeated request without paying twice', async () => {
    before = await issuerState(a.agent.entityId);
    expect(await pay('4', 'within-1')).toEqual({ status: 200, body: { result: 'success', fee: '0' } });
    expect(await pay('4', 'within-1')).toEqual({ status: 200, body: { result: 'success', fee: '0' } });
    const after = await issuerState(a.agent.entityId);
    expect(after.transfers).toBe(before.transfers + 1);
    expect(after.balance).toBe(before.balance - 4_00n);
    // the same transactionId for another amount is another order: refused
    expect((await pay('3', 'within-1')).body.code).toBe('transactionIdReused');
  });

  it('refuses a purchase above the per-purchase limit before any payment', async () => {
    before = await issuerState(a.agent.entityId);
    const { status, body } = await pay('4.01', 'too-big');
    expect(status).toBe(403);
    expect(body).toMatchObject({ code: 'purchaseLimitExceeded', type: 'urn:lcp:agent:purchaseLimitExceeded' });
    expect(await issuerState(a.agent.entityId)).toEqual(before); // the issuer saw nothing
  });

  it('refuses a spend beyond the daily limit before any payment', async () => {
    expect((await pay('4', 'daily-2')).body.result).toBe('success'); // 8 of 10 spent today
    before = await issuerState(a.agent.entityId);
    const { status, body } = await pay('3', 'daily-3');
    expect(status).toBe(403);
    expect(body.code).toBe('dailyLimitExceeded');
    expect(await issuerState(a.agent.entityId)).toEqual(before);
    expect((await call(a.agent, 'GET', '/v1/limits', { token: a.tokens.player })).body).toMatchObject({
      application: 'player',
      limits: [{ currency: money, perDay: '10', perPurchase: '4', spentToday: '8', remainingToday: '2' }],
    });
  });

  it('refuses a currency the application may not spend, before any payment', async () => {
    const { status, body } = await pay('1', 'other-currency', claire);
    expect(status).toBe(403);
    expect(body.code).toBe('currencyNotAllowed');
    const sellerApp = await call(a.agent, 'POST', '/v1/payments', {
      token: a.tokens.seller,
      body: { to: seller.id, amount: '1', currency: money, transactionId: 'seller-spends' },
    });
    expect(sellerApp.body.code).toBe('currencyNotAllowed');
    expect((await other.issuer.ledger.totals()).transfers).toBe(0);
  });

  it('refuses malformed orders', async () => {
    for (const body of [
      { to: 'bob', amount: '1', currency: money, transactionId: 'bad-1' },
      { to: seller.id, amount: '1.001', currency: money, transactionId: 'bad-2' },
      { to: seller.id, amount: '0', currency: money, transactionId: 'bad-3' },
      { to: seller.id, amount: '1', currency: money, transactionId: 'a<b' },
    ]) {
      const answer = await call(a.agent, 'POST', '/v1/payments', { token: a.tokens.player, body });
      expect(answer.status).toBe(400);
    }
  });
});

describe('concurrent spends', () => {
  it('cannot exceed the daily limit together', async () => {
    const a = await startTestAgent(t, {
      currencies: { [money]: { scale: 2 } },
      accept: [],
      applications: { burst: { spending: { [money]: { perDay: '10', perPurchase: '3' } } } },
    });
    try {
      await t.issuer.ledger.mint(a.agent.entityId as never, 100_00n, `fund-${a.agent.entityId}`);
      const before = await issuerState(a.agent.entityId);
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          call(a.agent, 'POST', '/v1/payments', {
            token: a.tokens.burst,
            body: { to: seller.id, amount: '3', currency: money, transactionId: `burst-${i}` },
          }),
        ),
      );
      const paid = answers.filter((r) => r.body.result === 'success').length;
      expect(paid).toBe(3); // 3 × 3 = 9 ≤ 10 < 12
      expect(answers.filter((r) => r.body.code === 'dailyLimitExceeded')).toHaveLength(5);
      const after = await issuerState(a.agent.entityId);
      expect(after.transfers).toBe(before.transfers + 3);
      expect(after.balance).toBe(before.balance - 9_00n);
    } finally {
      await a.stop();
    }
  });

  it('starts a new day with the full limit', async () => {
    let now = Date.parse('2026-07-12T23:59:00Z');
    const a = await startTestAgent(
      t,
      { currencies: { [money]: { scale: 2 } }, accept: [], applications: { p: { spending: { [money]: { perDay: '1', perPurchase: '1' } } } } },
      { now: () => now },
    );
    try {
      await t.issuer.ledger.mint(a.agent.entityId as never, 10_00n, `fund-${a.agent.entityId}`);
      const pay = (tx: string) => call(a.agent, 'POST', '/v1/payments', { token: a.tokens.p, body: { to: seller.id, amount: '1', currency: money, transactionId: tx } });
      expect((await pay('day-1')).body.result).toBe('success');
      expect((await pay('day-1b')).body.code).toBe('dailyLimitExceeded');
      now += 120_000; // 12 July becomes 13 July, UTC
      expect((await pay('day-2')).body.result).toBe('success');
    } finally {
      await a.stop();
    }
  });
});

describe('selling: deposits and balances', () => {
  let a: TestAgent;
  let payer: IssuerClient;
  beforeAll(async () => {
    a = await startTestAgent(t, policy());
    const holder = await newHolder();
    await t.issuer.ledger.mint(holder.id as never, 50_00n, `fund-${holder.id}`);
    payer = await connectHolder(t, holder);
  });
  afterAll(async () => {
    payer?.close();
    await a?.stop();
  });

  it('answers a deposit once it arrives, and again when asked again', async () => {
    const waiting = call(a.agent, 'GET', `/v1/deposits/sale-1?currency=${encodeURIComponent(money)}&wait=5000`, { token: a.tokens.seller });
    await payer.transferFunds({ recipient: a.agent.entityId, amount: 2_50n, transactionId: 'sale-1' });
    const first = await waiting;
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ transactionId: 'sale-1', amount: '2.5', currency: money });
    const again = await call(a.agent, 'GET', `/v1/deposits/sale-1?currency=${encodeURIComponent(money)}`, { token: a.tokens.player });
    expect(again.body).toEqual(first.body);
  });

  it('answers 404 when no such deposit arrives in time', async () => {
    const started = Date.now();
    const { status, body } = await call(a.agent, 'GET', `/v1/deposits/never?currency=${encodeURIComponent(money)}&wait=300`, { token: a.tokens.seller });
    expect(status).toBe(404);
    expect(body.code).toBe('depositNotFound');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('refuses to look for a payment in a currency not accepted when selling', async () => {
    const { status, body } = await call(a.agent, 'GET', `/v1/deposits/sale-1?currency=${encodeURIComponent(claire)}&wait=0`, { token: a.tokens.seller });
    expect(status).toBe(403);
    expect(body.code).toBe('currencyNotAccepted');
  });

  it('reports balances for the currencies it knows', async () => {
    const { status, body } = await call(a.agent, 'GET', '/v1/balances', { token: a.tokens.player });
    expect(status).toBe(200);
    expect(body.balances).toEqual(
      expect.arrayContaining([
        { currency: money, scale: 2, balance: '2.5' },
        { currency: claire, scale: 2, balance: '0' },
      ]),
    );
  });
});

describe('traces', () => {
  it("records a traced payment and carries the trace to the issuer's request", async () => {
    const events: { traceId: string; party: string; what: string }[] = [];
    const a = await startTestAgent(
      t,
      { currencies: { [money]: { scale: 2 } }, accept: [], applications: { player: { spending: { [money]: { perDay: '5', perPurchase: '5' } } } } },
      { onTrace: (e) => events.push(e) },
    );
    try {
      await t.issuer.ledger.mint(a.agent.entityId as never, 5_00n, `fund-${a.agent.entityId}`);
      const traceId = 'ab'.repeat(16);
      const answer = await call(a.agent, 'POST', '/v1/payments', {
        token: a.tokens.player,
        headers: { traceparent: `00-${traceId}-${'cd'.repeat(8)}-01` },
        body: { to: seller.id, amount: '1', currency: money, transactionId: 'traced-1' },
      });
      expect(answer.body.result).toBe('success');
      expect(events.map((e) => [e.traceId, e.party, e.what.split(':')[0]])).toEqual([
        [traceId, 'alice', 'payment requested by player'],
        [traceId, 'alice', 'payment answered'],
      ]);
      // money.com saw the transfer in the same trace, as a child span of the application's request
      const atIssuer = issuerTraces.filter((e) => e.traceId === traceId);
      expect(atIssuer.map((e) => [e.party, e.peer, e.what])).toEqual([
        ['money.com', a.agent.entityId, 'transferFunds received: traced-1'],
        ['money.com', a.agent.entityId, 'transferFunds committed: success'],
      ]);
      expect(atIssuer[0]?.spanId).not.toBe('cd'.repeat(8));
    } finally {
      await a.stop();
    }
  });
});

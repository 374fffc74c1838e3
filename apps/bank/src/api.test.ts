// The agents' API over verified TLS: scopes, the daily limit under concurrent requests, the
// payments long-poll of Figure 2 step 5, problem documents for bad input, and nothing changed
// by a refused request.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuerClient } from '@lcp/client';
import type { Customer } from './customers.js';
import {
  WebVisitor,
  connectHolder,
  eventually,
  newHolder,
  request,
  startTestBank,
  startTestIssuer,
  type Reply,
  type TestBank,
  type TestHolder,
  type TestIssuer,
} from './test-support.js';

let t: TestIssuer;
let b: TestBank;
let payer: TestHolder;
let payerClient: IssuerClient;
let wsdl: string;
let bob: WebVisitor;
let bobCustomer: Customer;

beforeAll(async () => {
  t = await startTestIssuer({ LCP_FEE_RATE_PPM: '12000', LCP_FEE_RESUMED_RATE_PPM: '12000' });
  wsdl = t.issuer.wsdlUrl;
  b = await startTestBank([{ t }]);
  payer = await newHolder();
  await t.issuer.ledger.mint(payer.id, 1_000_000_00n, 'fund-payer');
  payerClient = await connectHolder(t, payer);
  bob = new WebVisitor(b);
  await bob.signUp('bob');
  bobCustomer = b.running.bank.customers.byName('bob') as Customer;
  await fund('bob', 100_00n);
});

afterAll(async () => {
  payerClient?.close();
  await b?.stop();
  await t?.stop();
});

const bank = () => b.running.bank;
const balance = (c: Customer) => bank().balances(c)[0]?.balance;
let counter = 0;

async function fund(name: string, amount: bigint): Promise<string> {
  const transactionId = `fund-${name}-${++counter}`;
  await payerClient.transferFunds({ recipient: b.running.entityIdAt(wsdl), amount, transactionId, userid: name });
  const customer = bank().customers.byName(name) as Customer;
  await eventually(() => bank().incoming(customer, bank().currencies.list[0] as never, transactionId), 5000, 'funding');
  return transactionId;
}

async function token(visitor: WebVisitor, scopes: string[], limit?: string): Promise<string> {
  const page = await visitor.post('/tokens', { label: `app ${++counter}`, scope: scopes, ...(limit ? { limit, limitCurrency: wsdl } : {}) });
  expect(page.status).toBe(201);
  const secret = /id="new-token" readonly value="([^"]+)"/.exec(page.text)?.[1];
  if (!secret) throw new Error('no token shown');
  return secret;
}

function expectProblem(reply: Reply, status: number, code: string): void {
  expect({ status: reply.status, type: reply.headers['content-type'] }).toEqual({ status, type: 'application/problem+json; charset=utf-8' });
  expect(reply.json).toMatchObject({ type: `urn:lcp:bank:problem:${code}`, code, status });
  expect(reply.text).not.toMatch(/at .*\.(ts|js):\d+/); // never a stack trace
}

describe('scopes', () => {
  it('refuses a request without a token, with an unknown one, and with a revoked one', async () => {
    expectProblem(await request(b, 'GET', '/api/v1/balances'), 401, 'unauthorized');
    expectProblem(await request(b, 'GET', '/api/v1/balances', { token: 'lcpb_nonsense' }), 401, 'unauthorized');
    const secret = await token(bob, ['balances:read']);
    const ok = await request(b, 'GET', '/api/v1/balances', { token: secret });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ balances: [{ currency: wsdl, name: new URL(wsdl).host, scale: 2, balance: '100' }] });
    const id = bank().tokens.list(bobCustomer.id).find((tk) => tk.uses === 1n)?.id;
    await bob.post(`/tokens/${id}/revoke`, {});
    expect(bob.last?.text).toContain('The token is revoked');
    expectProblem(await request(b, 'GET', '/api/v1/balances', { token: secret }), 401, 'unauthorized');
  });

  it('a token without the spend scope cannot spend (403), and nothing moves', async () => {
    const secret = await token(bob, ['payments:read', 'balances:read']);
    const before = balance(bobCustomer);
    const reply = await request(b, 'POST', '/api/v1/payments', { token: secret, body: { to: payer.id, amount: '1', currency: wsdl, transactionId: 'nope' } });
    expectProblem(reply, 403, 'insufficient-scope');
    expect(balance(bobCustomer)).toBe(before);
    expect(bank().history(bobCustomer, { direction: 'out' }).find((p) => p.transaction_id === 'nope')).toBeUndefined();
    // the use is logged on the token, refusal included
    const used = bank().tokens.list(bobCustomer.id).find((tk) => tk.uses > 0n && tk.revokedAt === null);
    expect(bank().tokens.uses(used?.id as bigint)[0]).toMatchObject({ method: 'POST', path: '/api/v1/payments', status: 403 });
  });

  it('a token with payments:read cannot read balances', async () => {
    const secret = await token(bob, ['payments:read']);
    expectProblem(await request(b, 'GET', '/api/v1/balances', { token: secret }), 403, 'insufficient-scope');
    expectProblem(await request(b, 'GET', '/api/v1/operator/reconciliation', { token: secret }), 403, 'insufficient-scope');
  });
});

describe('spending', () => {
  it('holds the daily limit under 20 concurrent spends: exactly the allowed ones succeed', async () => {
    const web = new WebVisitor(b);
    await web.signUp('spender');
    const spender = bank().customers.byName('spender') as Customer;
    await fund('spender', 100_00n);
    const secret = await token(web, ['spend'], '10');
    const recipient = await newHolder();
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(b, 'POST', '/api/v1/payments', { token: secret, body: { to: recipient.id, amount: '1', currency: wsdl, transactionId: `burst-${i}` } }),
      ),
    );
    const ok = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status !== 200);
    expect(ok).toHaveLength(10);
    for (const r of ok) expect(r.json).toMatchObject({ result: 'success', fee: '0.02', status: 'completed' });
    for (const r of refused) expectProblem(r, 403, 'daily-limit-exceeded');
    expect(await t.issuer.ledger.balance(recipient.id)).toBe(10_00n);
    expect(balance(spender)).toBe(100_00n - 10n * (1_00n + 2n));
    const info = await request(b, 'GET', '/api/v1/token', { token: secret });
    expect(info.json).toMatchObject({ scopes: ['spend'], limits: [{ currency: wsdl, dailyMax: '10', spentToday: '10' }] });
    const report = await b.running.reconcile();
    expect(report.holders.every((h) => h.status === 'ok') && report.ledger.balanced).toBe(true);
  });

  it('sends to a name, and replays a request with the same Idempotency-Key instead of paying twice', async () => {
    const web = new WebVisitor(b);
    await web.signUp('carol');
    const carol = bank().customers.byName('carol') as Customer;
    const secret = await token(bob, ['spend'], '50');
    const before = balance(bobCustomer) as bigint;
    const order = { to: 'carol@bank.com', amount: '2.5', currency: wsdl, transactionId: 'for-carol' };
    const first = await request(b, 'POST', '/api/v1/payments', { token: secret, body: order, headers: { 'idempotency-key': 'k-1' } });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ result: 'success', fee: '0', status: 'completed' });
    const again = await request(b, 'POST', '/api/v1/payments', { token: secret, body: order, headers: { 'idempotency-key': 'k-1' } });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json).toEqual(first.json);
    expectProblem(await request(b, 'POST', '/api/v1/payments', { token: secret, body: { ...order, amount: '3' }, headers: { 'idempotency-key': 'k-1' } }), 409, 'idempotency-conflict');
    expect(balance(bobCustomer)).toBe(before - 2_50n);
    expect(balance(carol)).toBe(2_50n);
  });

  it('answers bad input with a clear problem and changes nothing', async () => {
    const secret = await token(bob, ['spend'], '50');
    const before = balance(bobCustomer);
    const paymentsBefore = bank().history(bobCustomer).length;
    const base = { to: payer.id, amount: '1', currency: wsdl, transactionId: 'bad-input' };
    const cases: [Record<string, unknown>, number, string][] = [
      [{ ...base, amount: '1.234' }, 400, 'invalid-amount'],
      [{ ...base, amount: '-1' }, 400, 'invalid-amount'],
      [{ ...base, amount: '0' }, 400, 'invalid-amount'],
      [{ ...base, amount: '1e3' }, 400, 'invalid-amount'],
      [{ ...base, amount: ' ' }, 400, 'invalid-amount'],
      [{ ...base, amount: 5 }, 400, 'invalid-amount'],
      [{ ...base, amount: '99999999999999999999999' }, 400, 'invalid-amount'],
      [{ ...base, to: 'bob@' }, 400, 'invalid-recipient'],
      [{ ...base, to: '@bank.com' }, 400, 'invalid-recipient'],
      [{ ...base, to: 'not a key' }, 400, 'invalid-recipient'],
      [{ ...base, to: payer.id.toUpperCase() }, 400, 'invalid-recipient'],
      [{ ...base, to: 'nobody@bank.com' }, 404, 'name-not-found'],
      [{ ...base, to: 'bob@bank.com' }, 400, 'invalid-recipient'],
      [{ ...base, to: 'carol@bank.com', userid: 'carol' }, 400, 'invalid-request'],
      [{ ...base, userid: 'not valid!' }, 400, 'invalid-userid'],
      [{ ...base, currency: 'http://nowhere.example/lcp.wsdl' }, 400, 'unknown-currency'],
      [{ ...base, transactionId: 'a<b' }, 400, 'invalid-transaction-id'],
      [{ ...base, transactionId: 'x'.repeat(129) }, 400, 'invalid-transaction-id'],
      [{ to: payer.id, amount: '1', currency: wsdl }, 400, 'invalid-request'],
      [{ ...base, amount: '51' }, 403, 'daily-limit-exceeded'],
      [{ ...base, to: b.running.entityIdAt(wsdl) }, 400, 'invalid-recipient'],
    ];
    for (const [body, status, code] of cases) {
      const reply = await request(b, 'POST', '/api/v1/payments', { token: secret, body });
      expect({ body, status: reply.status, code: (reply.json as { code?: string }).code }).toEqual({ body, status, code });
      expectProblem(reply, status, code);
    }
    expectProblem(await request(b, 'POST', '/api/v1/payments', { token: secret, body: '{"to":' }), 400, 'invalid-request');
    expectProblem(await request(b, 'POST', '/api/v1/payments', { token: secret, body: '[1,2]' }), 400, 'invalid-request');
    expect(balance(bobCustomer)).toBe(before);
    expect(bank().history(bobCustomer)).toHaveLength(paymentsBefore);

    // more than the balance (with fees) is refused before anything is sent
    const poor = new WebVisitor(b);
    await poor.signUp('poor');
    await fund('poor', 1_00n);
    const poorToken = await token(poor, ['spend'], '100');
    expectProblem(await request(b, 'POST', '/api/v1/payments', { token: poorToken, body: { ...base, amount: '1' } }), 409, 'insufficient-funds');
    expect(bank().balances(bank().customers.byName('poor') as Customer)[0]?.balance).toBe(1_00n);
  });
});

describe('Figure 2, step 5: has the payment arrived?', () => {
  it('answers the long-poll within a second of the deposit', async () => {
    const secret = await token(bob, ['payments:read']);
    const path = `/api/v1/payments/${encodeURIComponent('read #42')}?currency=${encodeURIComponent(wsdl)}&wait=10000`;
    const asked = Date.now();
    const waiting = request(b, 'GET', path, { token: secret });
    await new Promise((r) => setTimeout(r, 300));
    const paidAt = Date.now();
    await payerClient.transferFunds({ recipient: b.running.entityIdAt(wsdl), amount: 3_00n, transactionId: 'read #42', userid: 'bob' });
    const reply = await waiting;
    const answeredAt = Date.now();
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ transactionId: 'read #42', amount: '3', currency: wsdl });
    expect(new Date((reply.json as { receivedAt: string }).receivedAt).getTime()).toBeGreaterThanOrEqual(asked - 1000);
    expect(answeredAt - paidAt).toBeLessThan(1000);
    // asked again, it answers at once
    const again = await request(b, 'GET', path, { token: secret });
    expect(again.status).toBe(200);
  });

  it('answers 404 when it has not arrived, after the wait, and refuses bad parameters', async () => {
    const secret = await token(bob, ['payments:read']);
    const started = Date.now();
    const reply = await request(b, 'GET', `/api/v1/payments/never?currency=${encodeURIComponent(wsdl)}&wait=300`, { token: secret });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expectProblem(reply, 404, 'payment-not-found');
    expectProblem(await request(b, 'GET', '/api/v1/payments/never', { token: secret }), 400, 'unknown-currency');
    expectProblem(await request(b, 'GET', `/api/v1/payments/never?currency=${encodeURIComponent(wsdl)}&wait=soon`, { token: secret }), 400, 'invalid-request');
    expectProblem(await request(b, 'GET', `/api/v1/payments/${encodeURIComponent('a&b')}?currency=${encodeURIComponent(wsdl)}`, { token: secret }), 400, 'invalid-transaction-id');
    // another customer's payment is not this customer's
    const web = new WebVisitor(b);
    await web.signUp('dave');
    const daveToken = await token(web, ['payments:read']);
    expectProblem(await request(b, 'GET', `/api/v1/payments/${encodeURIComponent('read #42')}?currency=${encodeURIComponent(wsdl)}`, { token: daveToken }), 404, 'payment-not-found');
  });
});

describe('the web pages refuse what they must', () => {
  it('a wrong password is refused, and repeated tries are limited per IP and name', async () => {
    const visitor = new WebVisitor(b);
    const wrong = await visitor.signIn('bob', 'wrong password');
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('That name and password do not match.');
    for (let i = 0; i < 3; i++) await visitor.signIn('bob', 'wrong password');
    expect((await visitor.signIn('bob', 'wrong password')).status).toBe(401);
    const limited = await visitor.signIn('bob', 'bob password 1');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^[0-9]+$/);
    // another name from the same address is not affected
    const other = new WebVisitor(b);
    await other.signUp('erin');
    expect((await other.signIn('erin', 'erin password 1')).status).toBe(200);
  });

  it('refuses a form without the CSRF token, and another customer\u2019s token or payment by id', async () => {
    const visitor = new WebVisitor(b);
    await visitor.signUp('mallory');
    const before = bank().tokens.list(bobCustomer.id).length;
    const noCsrf = await visitor.post('/tokens', { label: 'x', scope: 'spend', limit: '1', limitCurrency: wsdl, _csrf: '' }, false);
    expect(noCsrf.status).toBe(403);
    const bobsToken = bank().tokens.list(bobCustomer.id).find((tk) => tk.revokedAt === null);
    const revoke = await visitor.post(`/tokens/${bobsToken?.id}/revoke`, {}, false);
    expect(revoke.status).toBe(404);
    expect(bank().tokens.list(bobCustomer.id).find((tk) => tk.id === bobsToken?.id)?.revokedAt).toBeNull();
    const bobsPayment = bank().history(bobCustomer)[0];
    expect((await visitor.get(`/payments/${bobsPayment?.id}`)).status).toBe(404);
    expect(bank().tokens.list(bobCustomer.id)).toHaveLength(before);
    // signing up with a taken name or a bad one
    const dup = await new WebVisitor(b).signUp('bob');
    expect(dup.status).toBe(409);
    expect((await new WebVisitor(b).signUp('Bad Name!')).status).toBe(400);
    expect((await new WebVisitor(b).signUp('operator')).status).toBe(400);
  });

  it('sends from the web form with clear errors, and a CSV statement', async () => {
    const sent = await bob.post('/send', { to: 'no such name', currency: wsdl, amount: '1' }, false);
    expect(sent.status).toBe(400);
    expect(sent.text).toContain('aria-invalid="true"');
    const ok = await bob.post('/send', { to: 'carol@bank.com', currency: wsdl, amount: '0.5', transactionId: 'web-1' });
    expect(ok.text).toContain('Payment sent');
    const history = await bob.get('/history');
    const csvLink = /href="(\/statement\.csv\?currency=[0-9]+)"/.exec(history.text)?.[1] as string;
    const csv = await bob.get(csvLink);
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('time,direction,status,transaction_id,counterparty,amount,issuer_fee,bank_fee,change,currency');
    expect(lines.some((l) => l.includes(',out,completed,web-1,carol@bank.com,0.5,0,0,-0.5,'))).toBe(true);
    // the balance is the sum of the statement's changes
    const total = lines.slice(1).reduce((sum, l) => sum + Math.round(Number(l.split(',')[8]) * 100), 0);
    expect(BigInt(total)).toBe(balance(bobCustomer));
  });
});

describe('the OpenAPI document', () => {
  it('is served, is the file in the repository, and documents every API route', async () => {
    const served = await request(b, 'GET', '/api/openapi.json');
    const file = JSON.parse(await readFile(new URL('../openapi.json', import.meta.url), 'utf8')) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(served.json).toEqual(file);
    expect(file.openapi).toMatch(/^3\./);
    const documented = Object.entries(file.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(
      [
        'GET /api/v1/token',
        'GET /api/v1/balances',
        'GET /api/v1/payments',
        'POST /api/v1/payments',
        'GET /api/v1/payments/{transactionId}',
        'GET /api/v1/operator/reconciliation',
        'GET /api/v1/operator/held',
        'GET /.well-known/lcp/names/{name}',
      ].sort(),
    );
    // every route answers something other than "no such route"
    const secret = await token(bob, ['payments:read']);
    for (const entry of documented) {
      const [method, path] = entry.split(' ') as [string, string];
      const reply = await request(b, method, path.replace('{transactionId}', 'x').replace('{name}', 'bob'), { token: secret, ...(method === 'POST' ? { body: {} } : {}) });
      expect((reply.json as { code?: string } | undefined)?.code, entry).not.toBe('not-found');
    }
  });
});

it('never lets a refused request change the books', async () => {
  const report = await b.running.reconcile();
  expect(report.ledger).toEqual({ balanced: true, problems: [] });
  expect(report.holders.map((h) => h.status)).toEqual(report.holders.map(() => 'ok'));
});

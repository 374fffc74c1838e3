// bank.com against a real money.com over TLS: opaque deposits routed by userid, held deposits,
// transparent customers paying from their own keys, names between two banks, and the books
// reconciled with the issuer after many random operations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NameResolutionError, resolve, type IssuerClient } from '@lcp/client';
import { createCertificateAuthority } from '@lcp/crypto';
import type { Customer } from './customers.js';
import { isProblem } from './problems.js';
import type { SendOutcome } from './payments.js';
import {
  OPERATOR_PASSWORD,
  WebVisitor,
  connectHolder,
  eventually,
  loopback,
  newHolder,
  request,
  startTestBank,
  startTestIssuer,
  type TestBank,
  type TestHolder,
  type TestIssuer,
} from './test-support.js';

let t: TestIssuer;
let b: TestBank;
let payer: TestHolder;
let payerClient: IssuerClient;
let wsdl: string;
let counter = 0;

// the paper's fee, 1.2 %, and a bank fee of 0.5 % on top for opaque customers
beforeAll(async () => {
  t = await startTestIssuer({ LCP_FEE_RATE_PPM: '12000', LCP_FEE_RESUMED_RATE_PPM: '12000' });
  wsdl = t.issuer.wsdlUrl;
  b = await startTestBank([{ t, extra: { bankFeePpm: 5000 } }]);
  payer = await newHolder();
  await t.issuer.ledger.mint(payer.id, 1_000_000_00n, 'fund-payer');
  payerClient = await connectHolder(t, payer);
});

afterAll(async () => {
  payerClient?.close();
  await b?.stop();
  await t?.stop();
});

const bank = () => b.running.bank;
const bankKey = () => b.running.entityIdAt(wsdl);
const currency = () => bank().currencies.list[0] as NonNullable<ReturnType<TestBank['running']['bank']['currencies']['find']>>;
const balanceOf = (c: Customer) => bank().ledger.balance(bank().customerAccount(c, currency()));

async function customer(name: string, kind: 'opaque' | 'transparent' = 'opaque'): Promise<Customer> {
  const created = await bank().customers.signUp({ name, password: `${name} password 1`, kind });
  if (isProblem(created)) throw new Error(created.detail);
  if (kind === 'transparent') await bank().startTransparent(created);
  return created;
}

/** The payer sends `amount` minor units to `recipient` (with `userid`) at money.com. */
async function pay(recipient: string, amount: bigint, userid?: string): Promise<string> {
  const transactionId = `order-${++counter}`;
  const response = await payerClient.transferFunds({ recipient, amount, transactionId, ...(userid ? { userid } : {}) });
  expect(response.result).toBe('success');
  return transactionId;
}

async function expectReconciled(): Promise<void> {
  const report = await b.running.reconcile();
  expect(report.ledger).toEqual({ balanced: true, problems: [] });
  for (const h of report.holders) expect({ holder: h.holder, status: h.status, difference: h.difference }).toEqual({ holder: h.holder, status: 'ok', difference: 0n });
  // and the issuer's own ledger agrees with the books of the bank's key
  const books = bank().ledger.books(bankKey(), currency().id);
  expect(await t.issuer.ledger.balance(bankKey())).toBe(-books.issuer);
}

describe('opaque banking', () => {
  it('credits a deposit to the bank\u2019s key with userid bob to bob\u2019s sub-account, exactly', async () => {
    const bob = await customer('bob');
    const transactionId = await pay(bankKey(), 12_34n, 'bob');
    await eventually(() => bank().incoming(bob, currency(), transactionId), 5000, 'the deposit');
    expect(balanceOf(bob)).toBe(12_34n);
    const row = bank().incoming(bob, currency(), transactionId);
    expect(row).toMatchObject({ amount: 12_34n, userid: 'bob', status: 'completed', direction: 'in' });
    expect(typeof row?.sequence).toBe('bigint');
    await expectReconciled();
  });

  it('matches the userid without regard to case, as names are lowercase', async () => {
    const dora = await customer('dora');
    const transactionId = await pay(bankKey(), 1_00n, 'Dora');
    await eventually(() => bank().incoming(dora, currency(), transactionId), 5000, 'the deposit');
    expect(balanceOf(dora)).toBe(1_00n);
  });

  it('holds deposits with an unknown userid or none, shows them to the operator, and lets the operator decide', async () => {
    const before = bank().held().length;
    const unknown = await pay(bankKey(), 7_00n, 'nobody-here');
    const none = await pay(bankKey(), 3_00n);
    const held = await eventually(() => (bank().held().length === before + 2 ? bank().held() : undefined), 5000, 'held deposits');
    expect(held.slice(-2).map((h) => [h.transaction_id, h.amount, h.note])).toEqual([
      [unknown, 7_00n, 'unknown userid nobody-here'],
      [none, 3_00n, 'no userid'],
    ]);
    await expectReconciled();

    // the operator sees them on the page and through the API, and credits one to erin
    const erin = await customer('erin');
    const operator = new WebVisitor(b);
    expect((await operator.signIn('operator', OPERATOR_PASSWORD)).text).toContain('Held deposits');
    expect(operator.last?.text).toContain(unknown);
    const token = await operatorToken(operator);
    const api = await request(b, 'GET', '/api/v1/operator/held', { token });
    expect(api.status).toBe(200);
    expect((api.json as { held: { transactionId: string; reason: string }[] }).held.map((h) => h.transactionId)).toEqual(expect.arrayContaining([unknown, none]));

    const [first, second] = held.slice(-2);
    await operator.post(`/operator/held/${first?.id}/assign`, { name: 'erin' });
    expect(operator.last?.text).toContain('The deposit is credited.');
    expect(balanceOf(erin)).toBe(7_00n);
    await operator.post(`/operator/held/${second?.id}/take`, {});
    expect(bank().held().find((h) => h.id === second?.id)).toBeUndefined();
    expect(bank().ledger.books(bankKey(), currency().id).held).toBe(0n);
    await expectReconciled();
  });

  it('pays out from the bank\u2019s key: the issuer\u2019s fee and the bank\u2019s fee come from the sender\u2019s sub-account', async () => {
    const fay = await customer('fay');
    await pay(bankKey(), 200_00n, 'fay');
    await eventually(() => balanceOf(fay) === 200_00n || undefined, 5000, 'funding');
    const stranger = await newHolder();
    const sent = await bank().payments.send({ customer: fay, currency: wsdl, to: stranger.id, amount: '100', transactionId: 'fay-1' });
    expect(isProblem(sent)).toBe(false);
    const outcome = sent as SendOutcome;
    // the paper's example: 100 costs 1.2 at the issuer; the bank adds 0.5 %
    expect(outcome).toMatchObject({ status: 'completed', result: 'success', fee: 1_20n, bankFee: 50n });
    expect(balanceOf(fay)).toBe(200_00n - 100_00n - 1_20n - 50n);
    expect(await t.issuer.ledger.balance(stranger.id)).toBe(100_00n);
    await expectReconciled();
  });
});

describe('transparent banking', () => {
  it('collects deposits to the customer\u2019s own key and pays from it', async () => {
    const gus = await customer('gus', 'transparent');
    const hal = await customer('hal');
    expect(gus.entityId).toMatch(/^[0-9a-f]{64}$/);
    // at rest the key is a sealed box: neither the PEM nor the raw key is in the database
    const { key_box: box } = bank().db.prepare('SELECT key_box FROM customers WHERE id = ?').get(gus.id) as { key_box: string };
    const der = bank().customers.identity(gus).privateKey.export({ type: 'pkcs8', format: 'der' });
    expect(box.startsWith('v1.')).toBe(true);
    expect(box).not.toContain(der.toString('base64url'));
    expect(box).not.toContain(der.subarray(-32).toString('hex'));
    // the name document points at gus's own key, without a userid
    expect(bank().nameDocument('gus')).toEqual({ name: 'gus@bank.com', accounts: [{ wsdl, entityId: gus.entityId }] });
    const transactionId = await pay(gus.entityId as string, 50_00n);
    await eventually(() => bank().incoming(gus, currency(), transactionId), 5000, 'the deposit');
    expect(balanceOf(gus)).toBe(50_00n);

    // gus pays hal@bank.com: a real transfer from gus's key to the bank's key with userid hal
    const sent = (await bank().payments.send({ customer: gus, currency: wsdl, to: 'hal@bank.com', amount: '10', transactionId: 'gus-to-hal' })) as SendOutcome;
    expect(sent).toMatchObject({ status: 'completed', result: 'success', fee: 12n, bankFee: 0n, internal: false });
    expect(await t.issuer.ledger.balance(gus.entityId as string)).toBe(50_00n - 10_00n - 12n);
    expect(balanceOf(gus)).toBe(50_00n - 10_00n - 12n);
    await eventually(() => bank().incoming(hal, currency(), 'gus-to-hal'), 5000, 'hal\u2019s deposit');
    expect(balanceOf(hal)).toBe(10_00n);
    await expectReconciled();
  });

  it('lets the customer export the key as PEM and leave; the money stays under that key', async () => {
    const web = new WebVisitor(b);
    await web.signUp('ivy', 'transparent');
    const ivy = bank().customers.byName('ivy') as Customer;
    await pay(ivy.entityId as string, 5_00n);
    await eventually(() => balanceOf(ivy) === 5_00n || undefined, 5000, 'the deposit');
    await web.get('/key');
    const exported = await web.post('/key/export', { password: 'ivy password 1' }, false);
    expect(exported.status).toBe(200);
    expect(exported.headers['content-disposition']).toContain('ivy@bank.com');
    const { identityFromPem } = await import('@lcp/crypto');
    expect(identityFromPem(exported.text).id).toBe(ivy.entityId);
    await web.get('/key');
    const wrong = await web.post('/key/leave', { password: 'not it at all', confirm: 'yes' }, false);
    expect(wrong.status).toBe(401);
    const left = await web.post('/key/leave', { password: 'ivy password 1', confirm: 'yes' }, false);
    expect(left.text).toContain('Your account is closed');
    expect(bank().customers.byName('ivy')?.closedAt).not.toBeNull();
    expect(bank().customerLinks.has(ivy.id)).toBe(false);
    expect(bank().nameDocument('ivy')).toBeUndefined();
    expect(await t.issuer.ledger.balance(ivy.entityId as string)).toBe(5_00n);
  });
});

describe('names', () => {
  it('resolves name@bank.com over verified TLS, and refuses what is not a name or not trusted', async () => {
    await customer('jon');
    const options = { caPem: b.ca.certPem, lookup: loopback, port: b.running.port };
    expect(await resolve('jon@bank.com', options)).toEqual({ name: 'jon@bank.com', userid: 'jon', accounts: [{ wsdl, entityId: bankKey() }] });
    await expect(resolve('nobody@bank.com', options)).rejects.toMatchObject({ code: 'notFound' });
    for (const bad of ['jon', 'jon@', '@bank.com', 'jon@bank..com', 'j o n@bank.com', 'jon@bank.com/x'])
      await expect(resolve(bad, options)).rejects.toMatchObject({ name: 'NameResolutionError', code: 'invalidName' });
    const otherCa = await createCertificateAuthority('Another CA');
    const untrusted = resolve('jon@bank.com', { ...options, caPem: otherCa.certPem });
    await expect(untrusted).rejects.toBeInstanceOf(NameResolutionError);
    await expect(untrusted).rejects.toMatchObject({ code: 'unreachable' });
    const served = await request(b, 'GET', '/.well-known/lcp/names/jon');
    expect(served.headers['content-type']).toContain('application/json');
  });

  it('pays a customer of another bank by name, through that bank\u2019s name document', async () => {
    const other = await startTestBank([{ t }], {}, 'other.com');
    try {
      const kim = await other.running.bank.customers.signUp({ name: 'kim', password: 'kim password 1', kind: 'opaque' });
      if (isProblem(kim)) throw new Error(kim.detail);
      const lee = await customer('lee');
      await pay(bankKey(), 20_00n, 'lee');
      await eventually(() => balanceOf(lee) === 20_00n || undefined, 5000, 'funding');
      const sent = (await bank().payments.send({ customer: lee, currency: wsdl, to: 'kim@other.com', amount: '5', transactionId: 'lee-to-kim' })) as SendOutcome;
      expect(sent).toMatchObject({ status: 'completed', result: 'success' });
      const kimBalance = () => other.running.bank.balances(kim)[0]?.balance;
      await eventually(() => kimBalance() === 5_00n || undefined, 5000, 'kim\u2019s deposit at other.com');
      const row = bank().history(lee, { direction: 'out', limit: 1 })[0];
      expect(row).toMatchObject({ to_name: 'kim@other.com', userid: 'kim', recipient: other.running.entityIdAt(wsdl) });
      const missing = await bank().payments.send({ customer: lee, currency: wsdl, to: 'nobody@other.com', amount: '1' });
      expect(missing).toMatchObject({ problem: 'name-not-found' });
      const unreachable = await bank().payments.send({ customer: lee, currency: wsdl, to: 'x@nowhere.example', amount: '1' });
      expect(unreachable).toMatchObject({ problem: 'name-unresolvable' });
      expect(balanceOf(lee)).toBe(20_00n - 5_00n - 6n - 3n);
    } finally {
      await other.stop();
    }
  });
});

describe('reconciliation', () => {
  it('holds after many random operations, and every sub-account is exactly what the operations say', async () => {
    let seed = 20260726;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const people = [await customer('r-ann'), await customer('r-ben'), await customer('r-cat', 'transparent'), await customer('r-dan', 'transparent')];
    const expected = new Map<bigint, bigint>(people.map((c) => [c.id, 0n]));
    const add = (c: Customer, delta: bigint) => expected.set(c.id, (expected.get(c.id) ?? 0n) + delta);
    const outsiders = [await newHolder(), await newHolder()];
    const arrivals: { c: Customer; transactionId: string }[] = [];
    const held: string[] = [];

    for (let i = 0; i < 40; i++) {
      const op = random();
      const c = pick(people);
      const amount = BigInt(1 + Math.floor(random() * 5000));
      if (op < 0.4 || (expected.get(c.id) ?? 0n) < 100_00n) {
        // money arrives from outside, by key and userid or by own key
        const transactionId = await pay(c.kind === 'opaque' ? bankKey() : (c.entityId as string), amount * 10n, c.kind === 'opaque' ? c.name : undefined);
        add(c, amount * 10n);
        // spend only what has arrived: wait until the bank has booked it
        await eventually(() => bank().incoming(c, currency(), transactionId), 5000, transactionId);
      } else if (op < 0.55) {
        const transactionId = await pay(bankKey(), amount, pick(['nobody', 'r-cat'])); // held: unknown, and a transparent customer's name
        held.push(transactionId);
      } else {
        const to = pick([...people.filter((p) => p.id !== c.id).map((p) => `${p.name}@bank.com`), ...outsiders.map((o) => o.id)]);
        const sent = await bank().payments.send({ customer: c, currency: wsdl, to, amount: (Number(amount) / 100).toFixed(2), transactionId: `r-${i}` });
        if (isProblem(sent)) throw new Error(sent.detail);
        expect(sent.status).toBe('completed');
        add(c, -(amount + sent.fee + sent.bankFee));
        const recipient = people.find((p) => `${p.name}@bank.com` === to);
        if (recipient) {
          add(recipient, amount);
          arrivals.push({ c: recipient, transactionId: `r-${i}` });
        }
      }
    }
    // and a burst at once: payments out of every account and deposits in, concurrently
    const burst = people.map(async (c, i) => {
      const to = outsiders[i % outsiders.length]?.id as string;
      const sent = await bank().payments.send({ customer: c, currency: wsdl, to, amount: '0.5', transactionId: `burst-${i}` });
      if (isProblem(sent)) throw new Error(sent.detail);
      add(c, -(50n + sent.fee + sent.bankFee));
    });
    const deposits = people.map(async (c) => {
      const transactionId = await pay(c.kind === 'opaque' ? bankKey() : (c.entityId as string), 7n, c.kind === 'opaque' ? c.name : undefined);
      add(c, 7n);
      arrivals.push({ c, transactionId });
    });
    await Promise.all([...burst, ...deposits]);
    for (const { c, transactionId } of arrivals) await eventually(() => bank().incoming(c, currency(), transactionId), 5000, transactionId);
    await eventually(() => held.every((id) => bank().held().some((h) => h.transaction_id === id)) || undefined, 5000, 'held deposits');
    expect(held.length).toBeGreaterThan(0);
    for (const c of people) expect({ name: c.name, balance: balanceOf(c) }).toEqual({ name: c.name, balance: expected.get(c.id) });
    for (const c of people.filter((p) => p.kind === 'transparent')) expect(await t.issuer.ledger.balance(c.entityId as string)).toBe(expected.get(c.id));
    await expectReconciled();
  });
});

async function operatorToken(operator: WebVisitor): Promise<string> {
  const created = await operator.post('/tokens', { label: 'monitoring', scope: 'operator' });
  const secret = /id="new-token" readonly value="([^"]+)"/.exec(created.text)?.[1];
  if (!secret) throw new Error('no token shown');
  return secret;
}

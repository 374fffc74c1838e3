// Two issuers at once, an issuer that goes away in the middle of a payment and comes back, and
// a bank that restarts: every deposit is credited exactly once, every payment settled exactly
// once, and the books reconcile with both issuers afterwards.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningIssuer } from '@lcp/issuer';
import type { Customer } from './customers.js';
import { isProblem } from './problems.js';
import {
  WebVisitor,
  connectHolder,
  demoCa,
  eventually,
  newHolder,
  request,
  startIssuerAt,
  startTestBank,
  startTestIssuer,
  type TestBank,
  type TestHolder,
  type TestIssuer,
} from './test-support.js';

let money: TestIssuer;
let claire: RunningIssuer;
let claireDir: string;
let bankDir: string;
let b: TestBank;
let payer: TestHolder;

const asTestIssuer = async (issuer: RunningIssuer, dir: string): Promise<TestIssuer> => {
  const ca = await demoCa();
  const caPath = join(dir || tmpdir(), 'test-ca.pem');
  await writeFile(caPath, ca.certPem);
  return { issuer, ca, caPath, dir, stop: () => issuer.close() };
};

beforeAll(async () => {
  money = await startTestIssuer();
  claireDir = await mkdtemp(join(tmpdir(), 'lcp-claire-'));
  // Claire's currency has no fees and three decimals
  claire = await startIssuerAt(claireDir, 'claire.com', { LCP_SCALE: '3', LCP_FEE_RATE_PPM: '0', LCP_FEE_RESUMED_RATE_PPM: '0' });
  bankDir = await mkdtemp(join(tmpdir(), 'lcp-bank-'));
  b = await startTestBank([{ t: money }, { t: await asTestIssuer(claire, claireDir), scale: 3, extra: { name: 'Claire dollars' } }], {}, 'bank.com', bankDir);
  payer = await newHolder();
  await money.issuer.ledger.mint(payer.id, 1000_00n, 'fund');
  await claire.ledger.mint(payer.id, 1000_000n, 'fund');
});

afterAll(async () => {
  await b?.stop();
  await claire?.close();
  await money?.stop();
  await rm(claireDir, { recursive: true, force: true });
  await rm(bankDir, { recursive: true, force: true });
});

const bank = () => b.running.bank;
const balances = (c: Customer) => Object.fromEntries(bank().balances(c).map(({ currency, balance }) => [currency.name, balance]));

async function payFrom(issuer: RunningIssuer, amount: bigint, transactionId: string, userid: string): Promise<void> {
  const client = await connectHolder(await asTestIssuer(issuer, ''), payer, { scale: issuer === money.issuer ? 2 : 3 });
  try {
    const response = await client.transferFunds({ recipient: b.running.entityIdAt(issuer.wsdlUrl), amount, transactionId, userid });
    expect(response.result).toBe('success');
  } finally {
    client.close();
  }
}

describe('several issuers', () => {
  it('keeps one key per issuer, lists both in the name document, and keeps the currencies apart', async () => {
    const web = new WebVisitor(b);
    await web.signUp('nina');
    const nina = bank().customers.byName('nina') as Customer;
    const keys = [b.running.entityIdAt(money.issuer.wsdlUrl), b.running.entityIdAt(claire.wsdlUrl)];
    expect(new Set(keys).size).toBe(2);
    expect(bank().nameDocument('nina')?.accounts).toEqual([
      { wsdl: money.issuer.wsdlUrl, entityId: keys[0] },
      { wsdl: claire.wsdlUrl, entityId: keys[1] },
    ]);
    await payFrom(money.issuer, 10_00n, 'm-1', 'nina');
    await payFrom(claire, 2_500n, 'c-1', 'nina');
    await eventually(() => bank().incoming(nina, bank().currencies.list[1] as never, 'c-1'), 5000, 'claire deposit');
    await eventually(() => bank().incoming(nina, bank().currencies.list[0] as never, 'm-1'), 5000, 'money deposit');
    expect(balances(nina)).toEqual({ [new URL(money.issuer.wsdlUrl).host]: 10_00n, 'Claire dollars': 2_500n });
    const dashboard = await web.get('/dashboard');
    expect(dashboard.text).toContain('Claire dollars');
    expect(dashboard.text).toContain('>2.5<');
    const report = await b.running.reconcile();
    expect(report.holders.map((h) => h.status)).toEqual(['ok', 'ok']);
  });

  it('an issuer that is down: the payment waits, is sent again with its counter when the issuer is back, and is paid once', async () => {
    const nina = bank().customers.byName('nina') as Customer;
    const payee = await newHolder();
    const claireCurrency = bank().currencies.list[1] as NonNullable<ReturnType<typeof bank>['currencies']['list'][number]>;
    await claire.close();
    const sent = await bank().payments.send({ customer: nina, currency: claire.wsdlUrl, to: payee.id, amount: '1.5', transactionId: 'while-down' });
    if (isProblem(sent)) throw new Error(sent.detail);
    expect(sent).toMatchObject({ status: 'sending', result: 'pending' });
    // the money is set aside meanwhile (with 2 % for the issuer's fee), and the check says the issuer cannot be asked
    expect(balances(nina)['Claire dollars']).toBe(2_500n - 1_500n - 30n);
    const during = await b.running.reconcile();
    expect(during.holders.map((h) => h.status)).toEqual(['ok', 'unavailable']);
    expect(during.pendingPayments).toBe(1);
    // a second payment in that currency is refused at once: the first must be settled first
    const second = await bank().payments.send({ customer: nina, currency: claire.wsdlUrl, to: payee.id, amount: '0.1' });
    expect(second).toMatchObject({ problem: 'issuer-unavailable' });
    expect(balances(nina)['Claire dollars']).toBe(970n);

    claire = await startIssuerAt(claireDir, 'claire.com');
    const after = await b.running.reconcile();
    expect(after.holders.map((h) => h.status)).toEqual(['ok', 'ok']);
    expect(after.pendingPayments).toBe(0);
    const row = bank().history(nina, { currencyId: claireCurrency.id, direction: 'out' }).find((p) => p.transaction_id === 'while-down');
    expect(row).toMatchObject({ status: 'completed', result: 'success', lcp_fee: 0n });
    expect(await claire.ledger.balance(payee.id)).toBe(1_500n);
    expect(balances(nina)['Claire dollars']).toBe(1_000n);
  });

  it('restarts: deposits made while the bank was down are credited once, and nothing twice', async () => {
    const nina = bank().customers.byName('nina') as Customer;
    const before = balances(nina);
    await b.running.close();
    await payFrom(money.issuer, 1_00n, 'while-bank-down', 'nina');
    await payFrom(claire, 1n, 'while-bank-down', 'nina');
    b = await startTestBank([{ t: money }, { t: await asTestIssuer(claire, claireDir), scale: 3, extra: { name: 'Claire dollars' } }], {}, 'bank.com', bankDir);
    const list = () => bank().history(nina, { direction: 'in' }).filter((p) => p.transaction_id === 'while-bank-down');
    await eventually(() => (list().length === 2 ? true : undefined), 5000, 'both deposits');
    const moneyName = new URL(money.issuer.wsdlUrl).host;
    expect(balances(nina)).toEqual({ [moneyName]: (before[moneyName] as bigint) + 1_00n, 'Claire dollars': (before['Claire dollars'] as bigint) + 1n });
    const report = await b.running.reconcile();
    expect(report.holders.map((h) => h.status)).toEqual(['ok', 'ok']);
    expect(report.ledger.balanced).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(list()).toHaveLength(2);
    const name = await request(b, 'GET', '/.well-known/lcp/names/nina');
    expect((name.json as { accounts: unknown[] }).accounts).toHaveLength(2);
  });
});

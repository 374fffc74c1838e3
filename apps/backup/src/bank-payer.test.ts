// Paying from a bank account (section 5.1): a real bank.com on loopback, a customer with a
// spend token, and a backup whose every payment goes through POST /api/v1/payments.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, parseConfig as parseBankConfig, startBank, type RunningBank } from '@lcp/bank';
import { issueServerCertificate } from '@lcp/crypto';
import { connectHolder, demoCa, newHolder } from '@lcp/issuer/testing';
import { digestTree, loopback, recorder, startClient, startNodes, startTestIssuer, type TestIssuer, type TestNode } from './test-support.js';

let t: TestIssuer;
let nodes: TestNode[];
let bank: RunningBank;
let work: string;
let token: string;
let customerId: bigint;

beforeAll(async () => {
  t = await startTestIssuer();
  nodes = await startNodes(t, 3);
  work = await mkdtemp(join(tmpdir(), 'lcp-backup-bank-'));
  const ca = await demoCa();
  const issued = await issueServerCertificate(ca, { hostnames: ['bank.com'] });
  await writeFile(join(work, 'cert.pem'), issued.certPem);
  await writeFile(join(work, 'key.pem'), issued.keyPem, { mode: 0o600 });
  await writeFile(join(work, 'ca.pem'), ca.certPem);
  bank = await startBank(
    parseBankConfig({
      LCP_BANK_DOMAIN: 'bank.com',
      LCP_BANK_HOST: '127.0.0.1',
      LCP_BANK_PORT: '0',
      LCP_BANK_DATA_DIR: join(work, 'bank'),
      LCP_BANK_TLS_CERT: join(work, 'cert.pem'),
      LCP_BANK_TLS_KEY: join(work, 'key.pem'),
      LCP_BANK_CA: join(work, 'ca.pem'),
      LCP_BANK_CURRENCIES: JSON.stringify([{ wsdl: t.issuer.wsdlUrl, scale: 2 }]),
      LCP_BANK_SECRET: 'a test secret that is long enough to pass',
      LCP_BANK_OPERATOR_PASSWORD_HASH: await hashPassword('operator password 1', 10),
      LCP_BANK_SCRYPT_LOG_N: '10',
      LCP_BANK_RECONCILE_INTERVAL_MS: '600000',
      LCP_BANK_LOG_LEVEL: 'silent',
    }),
    { logger: pino({ level: 'silent' }), lookup: loopback },
  );
  const customer = await bank.bank.customers.signUp({ name: 'alice', password: 'a long password 1', kind: 'opaque' });
  if (!('id' in customer)) throw new Error('sign-up refused');
  customerId = customer.id;
  const currencyId = (bank.bank.currencies.list[0] as { id: bigint }).id;
  token = bank.bank.tokens.create(customer.id, 'lcp-backup', ['spend'], [{ currencyId, dailyMax: 60_00n }]).secret;
  // someone pays alice@bank.com 100.00: it lands on the bank's key with her userid
  const payer = await newHolder();
  await t.issuer.ledger.mint(payer.id, 200_00n, 'fund-payer'); // the amount and the issuer's fee
  const money = await connectHolder(t, payer);
  const { result } = await money.transferFunds({ recipient: bank.entityIdAt(t.issuer.wsdlUrl), amount: 100_00n, transactionId: 'fund-alice', userid: 'alice' });
  if (result !== 'success') throw new Error(`funding alice: ${result}`);
  money.close();
  const deadline = Date.now() + 10_000;
  const currency = bank.bank.currencies.list[0] as never;
  while (!bank.bank.incoming(customer, currency, 'fund-alice') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}, 120_000);

afterAll(async () => {
  for (const n of nodes ?? []) await n.node.close();
  await bank?.close();
  await t?.stop();
  await rm(work, { recursive: true, force: true });
  for (const n of nodes ?? []) await rm(n.home, { recursive: true, force: true });
});

describe('paying through a bank', () => {
  it('backs up and restores with every payment sent from the customer account, as the issuer records from the bank key', async () => {
    const data = join(work, 'data');
    await mkdir(data);
    await writeFile(join(data, 'ledger.csv'), randomBytes(70_000));
    const running = await startClient(
      t,
      nodes,
      join(work, 'home'),
      { LCP_BACKUP_PAYER: 'bank', LCP_BACKUP_BANK_URL: `https://bank.com:${bank.port}`, LCP_BACKUP_BANK_TOKEN: token, LCP_BACKUP_BANK_CA: join(work, 'ca.pem'), LCP_BACKUP_CHUNK_BYTES: String(64 * 1024) },
      recorder(),
    );
    await running.client.init({ budget: 50_00n, goal: 0.9, chunkBytes: 64 * 1024, currency: { wsdl: t.issuer.wsdlUrl, scale: 2 } });
    await running.client.backup([data]);
    await running.client.restore('1', undefined, join(work, 'out'));
    expect(await digestTree(join(work, 'out'))).toEqual(await digestTree(work).then((all) => Object.fromEntries(Object.entries(all).filter(([p]) => p.startsWith('data/')))));
    const ours = running.client.spending.lines().filter((l) => l.status === 'paid');
    await running.close();
    expect(ours.length).toBeGreaterThan(0);
    // the issuer saw the bank's key send exactly these amounts under these transactionIds
    const sent = (await t.issuer.ledger.statement(bank.entityIdAt(t.issuer.wsdlUrl), { limit: 10_000 })).filter((e) => e.delta < 0n && e.kind === 'transfer');
    expect(new Map(sent.map((e) => [e.transactionId, -e.delta]))).toEqual(new Map(ours.map((l) => [l.transactionId, l.amount])));
    // and the customer was charged what our statement says, fees included
    const balance = bank.bank.balances({ id: customerId } as never)[0]?.balance;
    expect(balance).toBe(100_00n - ours.reduce((s, l) => s + l.amount + l.fee, 0n));
    expect((await t.issuer.ledger.totals()).sum).toBe(0n);
  }, 120_000);
});

// The web pages in a real Chromium (Debian's, driven by playwright-core): sign up, a payment
// appearing without a reload (Server-Sent Events), sending, agent tokens, CSRF, the operator.
// Chromium cannot be told to trust the demo CA headless, so it is told to accept the bank's
// own certificate by its key (--ignore-certificate-errors-spki-list); everything else in the
// suite verifies TLS against the CA.
import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuerClient } from '@lcp/client';
import {
  OPERATOR_PASSWORD,
  connectHolder,
  newHolder,
  request,
  startTestBank,
  startTestIssuer,
  type TestBank,
  type TestHolder,
  type TestIssuer,
} from './test-support.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../test-artifacts/', import.meta.url).pathname;

let t: TestIssuer;
let b: TestBank;
let browser: Browser;
let context: BrowserContext;
let payer: TestHolder;
let payerClient: IssuerClient;
let base: string;

beforeAll(async () => {
  t = await startTestIssuer({ LCP_FEE_RATE_PPM: '12000', LCP_FEE_RESUMED_RATE_PPM: '12000' });
  b = await startTestBank([{ t, extra: { name: 'money.com dollars' } }]);
  payer = await newHolder();
  await t.issuer.ledger.mint(payer.id, 1_000_00n, 'fund-payer');
  payerClient = await connectHolder(t, payer);
  const certificate = new X509Certificate(await readFile(join(b.dir, 'cert.pem')));
  const spki = createHash('sha256').update(certificate.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--host-resolver-rules=MAP ${b.domain} 127.0.0.1`,
      `--ignore-certificate-errors-spki-list=${spki}`,
    ],
  });
  context = await browser.newContext({ viewport: { width: 1024, height: 720 } });
  base = `https://${b.domain}:${b.running.port}`;
  await mkdir(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  payerClient?.close();
  await b?.stop();
  await t?.stop();
});

/** Saves a screenshot as a test artifact (docs/screenshots/ holds copies made from these by hand). */
async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

let page: Page;

describe('in Chromium', () => {
  it('signs up through the forms', async () => {
    page = await context.newPage();
    await page.goto(`${base}/`);
    expect(await page.title()).toBe('Sign in · bank.com');
    await shoot(page, 'sign-in');
    await page.getByRole('link', { name: 'Open an account' }).first().click();
    await page.getByLabel('Name', { exact: true }).fill('zoe');
    await page.getByLabel('Password', { exact: true }).fill('zoe password 1');
    await page.getByLabel('Password again').fill('zoe password 1');
    await page.getByLabel(/Opaque/).check();
    await page.getByRole('button', { name: 'Open the account' }).click();
    await page.waitForURL(`${base}/dashboard`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Hello, zoe');
    expect(await page.getByRole('status').textContent()).toContain('zoe@bank.com');
  });

  it('shows an incoming payment as it arrives, without a reload (Server-Sent Events)', async () => {
    await page.waitForSelector('body[data-live="on"]');
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    const response = await payerClient.transferFunds({ recipient: b.running.entityIdAt(t.issuer.wsdlUrl), amount: 25_00n, transactionId: 'live-1', userid: 'zoe' });
    expect(response.result).toBe('success');
    const row = await page.waitForSelector('#incoming tr[data-transaction-id="live-1"]', { timeout: 5000 });
    expect(await row.textContent()).toContain('25');
    expect(await page.locator(`[data-balance="${t.issuer.wsdlUrl}"]`).textContent()).toBe('25');
    expect(await page.locator('#live-announce').textContent()).toContain('live-1');
    // the same document: nothing was reloaded
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    await shoot(page, 'dashboard');
  });

  it('sends a payment', async () => {
    const payee = await newHolder();
    await page.getByRole('link', { name: 'Send', exact: true }).click();
    await page.getByLabel('To').fill(payee.id);
    await page.getByLabel('Amount').fill('10');
    await page.getByLabel('Transaction ID (optional)').fill('web-pay-1');
    await shoot(page, 'send');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.waitForURL(/\/payments\/[0-9]+$/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Payment sent');
    expect(await page.locator('td.status-ok').textContent()).toBe('Completed');
    expect(await t.issuer.ledger.balance(payee.id)).toBe(10_00n);
    // a bad amount is explained next to the field
    await page.goto(`${base}/send`);
    await page.getByLabel('To').fill(payee.id);
    await page.getByLabel('Amount').fill('1.234');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    expect(await page.getByRole('alert').textContent()).toContain('more than 2 decimal places');
    expect(await page.getByLabel('Amount').getAttribute('aria-invalid')).toBe('true');
  });

  it('creates an agent token, sees its use, and revokes it', async () => {
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByLabel('Application').fill('storage node');
    await page.getByLabel(/See incoming payments/).check();
    await page.getByLabel(/Send payments/).check();
    await page.getByLabel('At most, per day (UTC)').fill('5');
    await page.getByRole('button', { name: 'Create the token' }).click();
    const secret = await page.getByLabel('Token').inputValue();
    expect(secret).toMatch(/^lcpb_/);
    const asked = await request(b, 'GET', `/api/v1/payments/live-1?currency=${encodeURIComponent(t.issuer.wsdlUrl)}`, { token: secret });
    expect(asked.status).toBe(200);
    await page.goto(`${base}/tokens`);
    expect(await page.locator('tr', { hasText: 'storage node' }).textContent()).toContain('1 use');
    await shoot(page, 'tokens');
    await page.getByRole('button', { name: 'Revoke storage node' }).click();
    expect(await page.getByRole('status').textContent()).toContain('revoked');
    expect(await page.locator('tr', { hasText: 'storage node' }).textContent()).toContain('Revoked');
    expect((await request(b, 'GET', '/api/v1/token', { token: secret })).status).toBe(401);
  });

  it('refuses a form posted without the CSRF token', async () => {
    const tokensBefore = b.running.bank.tokens.list(b.running.bank.customers.byName('zoe')?.id as bigint).length;
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/tokens') && r.request().method() === 'POST'),
      // a form another site could make: every field but the token
      page.evaluate(`(() => {
        const form = document.createElement('form');
        form.method = 'post';
        form.action = '/tokens';
        for (const [name, value] of [['label', 'sneaky'], ['scope', 'spend'], ['limit', '100']]) {
          const input = document.createElement('input');
          input.name = name;
          input.value = value;
          form.appendChild(input);
        }
        document.body.appendChild(form);
        form.submit();
      })()`),
    ]);
    expect(response.status()).toBe(403);
    await page.waitForLoadState();
    expect(await page.textContent('main')).toContain('not sent from this bank');
    expect(b.running.bank.tokens.list(b.running.bank.customers.byName('zoe')?.id as bigint)).toHaveLength(tokensBefore);
  });

  it('shows the operator the reconciliation and held deposits', async () => {
    await payerClient.transferFunds({ recipient: b.running.entityIdAt(t.issuer.wsdlUrl), amount: 4_00n, transactionId: 'who-is-this', userid: 'nobody' });
    const operatorContext = await browser.newContext({ viewport: { width: 1024, height: 720 } });
    try {
      const op = await operatorContext.newPage();
      await op.goto(`${base}/signin`);
      await op.getByLabel('Name').fill('operator');
      await op.getByLabel('Password').fill(OPERATOR_PASSWORD);
      await op.getByRole('button', { name: 'Sign in' }).click();
      await op.waitForURL(`${base}/operator`);
      await op.getByRole('button', { name: 'Check every issuer now' }).click();
      expect(await op.getByRole('status').textContent()).toContain('Every issuer reconciles with the books.');
      expect(await op.locator('tr[data-held]').first().textContent()).toContain('who-is-this');
      await shoot(op, 'operator');
    } finally {
      await operatorContext.close();
    }
  });
});

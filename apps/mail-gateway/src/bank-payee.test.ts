// Postage paid to a bank customer (bob@bank.com) and paid from bank accounts, with a real
// bank.com and money.com on loopback, swaks as the outside sender and the real Postfix behind the
// gateway; then the sweep that refunds postage paid for quotes that expired unused, and what it
// does with refunds whose bookkeeping a crash lost.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackLookup } from '@lcp/client';
import { connectHolder, newHolder, type TestHolder } from '@lcp/issuer/testing';
import type { PolicyDocument } from './policy.js';
import { readPostageReply, type PostageOffer } from './postage-reply.js';
import { bankPayer, issuerPayer, sendWithPostage } from './sender/send-with-postage.js';
import { startTestPostfix, type TestPostfix } from './test-postfix.js';
import { finalReply, recipientToken, startTestBank, startTestGateway, startTestIssuer, swaks, type TestBank, type TestGateway, type TestIssuer } from './test-support.js';

const QUOTE_SECONDS = 3600;
const GRACE_SECONDS = 60;

let t: TestIssuer;
let postfix: TestPostfix;
let bank: TestBank;
let g: TestGateway;
let work: string;
let wsdl: string;
let bob: { id: bigint; token: string };
let alice: { id: bigint; token: string };
let holder: TestHolder;
/** The gateway's clock runs this far ahead of the real one (the sweep test moves it). */
let skew = 0;
let policy: PolicyDocument;
const bobToken = recipientToken('bob');
const danToken = recipientToken('dan');

async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const issuerBalance = (id: string) => t.issuer.ledger.balance(id);
const gatewayConfig = () => ({
  LCP_MAIL_BANK_ACCOUNTS: JSON.stringify({ 'bob@bank.com': { url: bank.url, tokenFile: join(work, 'bob-bank.token') } }),
  LCP_MAIL_BANK_CA: t.caPath,
  LCP_MAIL_SWEEP_SECONDS: '0',
  LCP_MAIL_REFUND_GRACE_SECONDS: String(GRACE_SECONDS),
  LCP_MAIL_QUOTE_SECONDS: String(QUOTE_SECONDS),
});
const gatewayOptions = () => ({ now: () => Date.now() + skew, namePort: bank.namePort });

beforeAll(async () => {
  [t, postfix] = await Promise.all([startTestIssuer(), startTestPostfix(['bob@example.org', 'dan@example.org'])]);
  wsdl = t.issuer.wsdlUrl;
  bank = await startTestBank(t, { bankFeeFixed: '0.01' });
  bob = await bank.customer('bob', ['payments:read', 'spend']);
  alice = await bank.customer('alice', ['spend']);
  work = await mkdtemp(join(tmpdir(), 'lcp-mail-bank-test-'));
  await writeFile(join(work, 'bob-bank.token'), `${bob.token}\n`, { mode: 0o600 });
  // alice@bank.com gets 10.00, and a holder 1.00 of its own
  holder = await newHolder();
  await t.issuer.ledger.mint(holder.id, 11_00n, 'fund-holder');
  const money = await connectHolder(t, holder);
  const bankKey = bank.running.entityIdAt(wsdl);
  expect((await money.transferFunds({ recipient: bankKey as never, amount: 10_00n, transactionId: 'fund-alice', userid: 'alice' })).result).toBe('success');
  money.close();
  await eventually(() => (bank.balance(alice.id) === 10_00n ? true : undefined), 'alice funded');
  policy = {
    currencies: { [wsdl]: { scale: 2 } },
    recipients: {
      'bob@example.org': { prices: { [wsdl]: '0.05' }, payee: 'bob@bank.com', tokenSha256: bobToken.tokenSha256 },
      'dan@example.org': { prices: { [wsdl]: '0.10' }, tokenSha256: danToken.tokenSha256 },
    },
  };
  g = await startTestGateway(t, policy, postfix.port, gatewayConfig(), gatewayOptions());
}, 60_000);

afterAll(async () => {
  await g?.stop();
  await Promise.allSettled([bank?.stop(), postfix?.stop()]);
  await t?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const mail = (from: string, to: string, messageId: string, extra: string[] = []) => [
  '--from', from,
  '--to', to,
  '--header', `Message-Id: ${messageId}`,
  '--header', 'Subject: postage to a bank',
  '--body', 'Hello Bob',
  ...extra,
];
const ledgerSum = async () => (await t.issuer.ledger.totals()).sum;
const quoteOf = async (from: string, to: string, messageId: string, extra: string[] = []): Promise<PostageOffer> => {
  const offers = readPostageReply(finalReply((await swaks(g.gateway.port, mail(from, to, messageId, extra))).output));
  expect(offers).toHaveLength(1);
  return offers[0] as PostageOffer;
};
const payFromBank = (customer: { token: string }) => bankPayer({ url: bank.url, token: customer.token, caPem: t.ca.certPem, lookup: loopbackLookup });

describe('a recipient whose postage goes to its bank account', () => {
  let ref = '';

  it('names bob@bank.com as the payee, answers 451 until the bank has the payment, then delivers', async () => {
    const offer = await quoteOf('stranger@outside.test', 'bob@example.org', '<to-bob-1@outside.test>');
    expect(offer).toMatchObject({ amount: '0.05', currency: wsdl, payee: 'bob@bank.com' });
    ref = offer.ref;
    const early = await swaks(g.gateway.port, mail('stranger@outside.test', 'bob@example.org', '<to-bob-1@outside.test>', ['--header', `X-LCP-Payment: ${ref}`]));
    expect(finalReply(early.output)).toMatch(/^451 4\.7\.1 The payment pst_\S+ has not arrived/);
    // the stranger pays bob@bank.com as the paper's video.com does: to the bank's key, with bob's userid
    const before = { holder: await issuerBalance(holder.id), bob: bank.balance(bob.id) };
    const money = await connectHolder(t, holder);
    expect((await money.transferFunds({ recipient: bank.running.entityIdAt(wsdl) as never, amount: 5n, transactionId: ref, userid: 'bob' })).result).toBe('success');
    money.close();
    const paid = await swaks(g.gateway.port, mail('stranger@outside.test', 'bob@example.org', '<to-bob-1@outside.test>', ['--header', `X-LCP-Payment: ${ref}`]));
    expect(finalReply(paid.output)).toMatch(/^250 2\.0\.0 Accepted \(postage: paid\)/);
    const [delivered] = await postfix.waitForMail('bob@example.org', 1);
    expect(delivered).toContain(`X-LCP-Postage: paid ref=${ref}; amount=0.05; currency=${wsdl}`);
    expect(await issuerBalance(holder.id)).toBe(before.holder - 5n);
    expect(bank.balance(bob.id)).toBe(before.bob + 5n);
    expect(await ledgerSum()).toBe(0n);
  });

  it('lets that payment pass no other message', async () => {
    const other = await swaks(g.gateway.port, mail('stranger@outside.test', 'bob@example.org', '<to-bob-2@outside.test>', ['--header', `X-LCP-Payment: ${ref}`]));
    expect(finalReply(other.output)).toMatch(/^550 5\.7\.0 Postage pst_\S+ was quoted for another message/);
    const again = await swaks(g.gateway.port, mail('stranger@outside.test', 'bob@example.org', '<to-bob-1@outside.test>', ['--header', `X-LCP-Payment: ${ref}`]));
    expect(finalReply(again.output)).toMatch(/^250 2\.0\.0 Already delivered/);
    expect(await postfix.mailbox('bob@example.org')).toHaveLength(1);
  });

  it('asks recipients paid at different payees to be sent to separately', async () => {
    const both = await swaks(g.gateway.port, mail('stranger@outside.test', 'bob@example.org,dan@example.org', '<to-both@outside.test>'));
    expect(finalReply(both.output)).toMatch(/^550 5\.7\.0 These recipients take postage at different payees/);
  });
});

describe('a sender paying from its bank account', () => {
  const options = () => ({
    smtp: { host: '127.0.0.1', port: g.gateway.port },
    message: { from: 'alice@outside.test', to: 'bob@example.org', subject: 'from alice@bank.com', text: 'hello Bob', messageId: '<alice-1@outside.test>' },
    payer: payFromBank(alice),
  });

  it('pays bob@bank.com by name (a book transfer at the bank), and a message sent again is charged once', async () => {
    const before = { alice: bank.balance(alice.id), bob: bank.balance(bob.id) };
    const result = await sendWithPostage(options());
    expect(result.paid).toMatchObject({ amount: '0.05', payee: 'bob@bank.com' });
    expect(result.sends).toBe(2);
    // 0.05 and the bank's fee of 0.01
    expect(bank.balance(alice.id)).toBe(before.alice - 6n);
    expect(bank.balance(bob.id)).toBe(before.bob + 5n);
    const again = await sendWithPostage(options());
    expect(again.paid).toBeUndefined();
    expect(again.response).toMatch(/Already delivered/);
    expect(bank.balance(alice.id)).toBe(before.alice - 6n);
    const messages = await postfix.waitForMail('bob@example.org', 2);
    expect(messages.filter((m) => m.includes('Subject: from alice@bank.com'))).toHaveLength(1);
    expect(messages.find((m) => m.includes('Subject: from alice@bank.com'))).toMatch(/^X-LCP-Refund-To: alice@bank\.com$/im);
  });

  it('bob marks it wanted: the postage goes back from his bank account to alice@bank.com, once', async () => {
    const listed = (await (await fetch(`${g.gateway.apiUrl}/v1/messages`, { headers: { authorization: `Bearer ${bobToken.token}` } })).json()) as {
      messages: { reference: string; sender: string }[];
    };
    const ref = listed.messages.find((m) => m.sender === 'alice@outside.test')?.reference as string;
    expect(ref).toMatch(/^pst_/);
    const before = { alice: bank.balance(alice.id), bob: bank.balance(bob.id) };
    const post = () =>
      fetch(`${g.gateway.apiUrl}/v1/refunds`, { method: 'POST', headers: { authorization: `Bearer ${bobToken.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ reference: ref }) });
    const first = await post();
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ result: 'success', amount: '0.05', to: 'alice@bank.com', from: 'bob@bank.com' });
    expect((await (await post()).json()) as unknown).toMatchObject({ result: 'success', repeated: true });
    expect(bank.balance(alice.id)).toBe(before.alice + 5n);
    // bob's account pays the refund and the bank's fee on it
    expect(bank.balance(bob.id)).toBe(before.bob - 6n);
  });

  it('pays a gateway key from the bank account (the bank sends it through money.com)', async () => {
    const before = { alice: bank.balance(alice.id), gateway: await issuerBalance(g.gateway.entityId) };
    const result = await sendWithPostage({ ...options(), message: { from: 'alice@outside.test', to: 'dan@example.org', subject: 'to dan', messageId: '<alice-dan@outside.test>' } });
    expect(result.paid).toMatchObject({ amount: '0.1', payee: g.gateway.entityId });
    await postfix.waitForMail('dan@example.org', 1);
    expect(await issuerBalance(g.gateway.entityId)).toBe(before.gateway + 10n);
    expect(bank.balance(alice.id)).toBe(before.alice - 11n);
    expect(await ledgerSum()).toBe(0n);
  });

  it('a holder pays a bank payee through its name document', async () => {
    const before = { holder: await issuerBalance(holder.id), bob: bank.balance(bob.id) };
    const client = await connectHolder(t, holder);
    try {
      const result = await sendWithPostage({
        smtp: { host: '127.0.0.1', port: g.gateway.port },
        message: { from: 'holder@outside.test', to: 'bob@example.org', subject: 'from a holder' },
        payer: issuerPayer(client, holder.id, wsdl, { caPem: t.ca.certPem, lookup: loopbackLookup, port: bank.namePort }),
      });
      expect(result.paid).toMatchObject({ amount: '0.05', payee: 'bob@bank.com' });
    } finally {
      client.close();
    }
    expect(await issuerBalance(holder.id)).toBe(before.holder - 5n);
    expect(bank.balance(bob.id)).toBe(before.bob + 5n);
  });

  it('refuses a bank payment the bank refuses, with nothing paid', async () => {
    const broke = await bank.customer('broke', ['spend']);
    const before = bank.balance(bob.id);
    await expect(
      sendWithPostage({ ...options(), message: { from: 'broke@outside.test', to: 'bob@example.org', subject: 'no money' }, payer: payFromBank(broke) }),
    ).rejects.toThrow(/the bank refused the payment: insufficient-funds/);
    expect(bank.balance(bob.id)).toBe(before);
  });
});

describe('postage paid for a quote that expired unused', () => {
  const refs: Record<string, string> = {};

  it('is refunded by the sweep, once, from the account it was paid to', async () => {
    const sender = payFromBank(alice);
    // paid to bob@bank.com and to the gateway's key, refund address named on the first send; never sent again
    const toBob = await quoteOf('alice@outside.test', 'bob@example.org', '<lost-1@outside.test>', ['--header', 'X-LCP-Refund-To: alice@bank.com']);
    const toDan = await quoteOf('alice@outside.test', 'dan@example.org', '<lost-2@outside.test>', ['--header', 'X-LCP-Refund-To: alice@bank.com']);
    // paid with no refund address ever given, and never paid
    const noAddress = await quoteOf('holder@outside.test', 'dan@example.org', '<lost-3@outside.test>');
    const unpaid = await quoteOf('nobody@outside.test', 'bob@example.org', '<lost-4@outside.test>');
    // never paid, to the gateway's key: whether nothing arrived is known only from a complete poll of its deposits
    const unpaidKey = await quoteOf('nobody@outside.test', 'dan@example.org', '<lost-5@outside.test>');
    Object.assign(refs, { toBob: toBob.ref, toDan: toDan.ref, noAddress: noAddress.ref, unpaid: unpaid.ref, unpaidKey: unpaidKey.ref });
    await sender.pay(toBob);
    await sender.pay(toDan);
    const money = await connectHolder(t, holder);
    expect((await money.transferFunds({ recipient: g.gateway.entityId as never, amount: 10n, transactionId: noAddress.ref })).result).toBe('success');
    money.close();
    // the gateway has collected the deposits to its key before the sweep looks for them
    const book = new Database(join(g.home, 'postage.sqlite'), { readonly: true });
    const collected = book.prepare('SELECT COUNT(*) AS n FROM deposits WHERE transaction_id IN (?, ?)');
    await eventually(() => ((collected.get(toDan.ref, noAddress.ref) as { n: bigint | number }).n === 2 ? true : undefined), 'deposits collected');
    book.close();
    // paid and relayed to dan, and then "delivered" was never written (a crash, or a failed write)
    const relayed = await sendWithPostage({
      smtp: { host: '127.0.0.1', port: g.gateway.port },
      message: { from: 'alice@outside.test', to: 'dan@example.org', subject: 'relayed', messageId: '<relayed-1@outside.test>' },
      payer: sender,
    });
    const relayedRef = relayed.paid?.ref as string;
    await postfix.waitForMail('dan@example.org', 2);
    const rw = new Database(join(g.home, 'postage.sqlite'));
    expect(rw.prepare("UPDATE quotes SET state = 'quoted', delivered_at = NULL WHERE ref = ? AND relaying_at IS NOT NULL").run(relayedRef).changes).toBe(1);
    rw.close();

    const before = { alice: bank.balance(alice.id), bob: bank.balance(bob.id), gateway: await issuerBalance(g.gateway.entityId) };
    // not expired yet: nothing to sweep
    expect(await g.gateway.sweep()).toMatchObject({ quotes: 0, refunded: 0 });
    skew = (QUOTE_SECONDS + GRACE_SECONDS + 5) * 1000;
    const report = await g.gateway.sweep();
    // the relayed message's postage is not taken for unused; the unpaid quote to the key waits for a complete poll
    expect(report).toMatchObject({ refunded: 2, noRefundAddress: 1, failed: 0, pending: 0, waiting: 1 });
    expect(report.unpaid).toBeGreaterThanOrEqual(1);
    const sweepResult = (ref: string) => {
      const db = new Database(join(g.home, 'postage.sqlite'), { readonly: true });
      try {
        return (db.prepare('SELECT sweep_result AS r FROM quotes WHERE ref = ?').get(ref) as { r: string | null }).r;
      } finally {
        db.close();
      }
    };
    expect(sweepResult(refs.unpaid as string)).toBe('unpaid');
    expect(sweepResult(refs.unpaidKey as string)).toBeNull();
    expect(sweepResult(relayedRef)).toBeNull();
    // from bob's bank account (book transfer, bob pays the bank's fee) and from the gateway's key (through money.com)
    expect(bank.balance(bob.id)).toBe(before.bob - 6n);
    expect(await issuerBalance(g.gateway.entityId)).toBe(before.gateway - 10n);
    await eventually(() => (bank.balance(alice.id) === before.alice + 15n ? true : undefined), 'both refunds credited to alice');
    expect(await ledgerSum()).toBe(0n);

    // two deposits to the gateway's key: the poll that brings the second one started after the clock moved
    for (const nudge of ['nudge-1', 'nudge-2']) {
      const money = await connectHolder(t, holder);
      expect((await money.transferFunds({ recipient: g.gateway.entityId as never, amount: 1n, transactionId: nudge })).result).toBe('success');
      money.close();
      const db = new Database(join(g.home, 'postage.sqlite'), { readonly: true });
      await eventually(() => (db.prepare('SELECT 1 FROM deposits WHERE transaction_id = ?').get(nudge) ? true : undefined), `${nudge} collected`);
      db.close();
    }
    expect(await g.gateway.sweep()).toMatchObject({ quotes: 1, unpaid: 1, refunded: 0, waiting: 0 });
    expect(sweepResult(refs.unpaidKey as string)).toBe('unpaid');
    // a later sweep pays nothing again, and never takes the relayed message's postage
    expect(await g.gateway.sweep()).toMatchObject({ quotes: 0, refunded: 0 });
    expect(bank.balance(alice.id)).toBe(before.alice + 15n);
    expect(bank.balance(bob.id)).toBe(before.bob - 6n);
    // and the expired reference passes no message
    const late = await swaks(g.gateway.port, mail('alice@outside.test', 'bob@example.org', '<lost-1@outside.test>', ['--header', `X-LCP-Payment: ${refs.toBob}`]));
    expect(finalReply(late.output)).toMatch(/^550 5\.7\.0 Postage pst_\S+ has expired/);
    // dan can still give the relayed message's postage back through the recipients' interface
    const wanted = await fetch(`${g.gateway.apiUrl}/v1/refunds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${danToken.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reference: relayedRef }),
    });
    expect(wanted.status).toBe(200);
    expect(await wanted.json()).toMatchObject({ result: 'success', amount: '0.1', to: 'alice@bank.com' });
    await eventually(() => (bank.balance(alice.id) === before.alice + 25n ? true : undefined), 'the relayed message refunded to alice');
    expect(await ledgerSum()).toBe(0n);
  });

  it('after a crash that lost the bookkeeping of a refund, pays it at most once', async () => {
    await g.gateway.close();
    // as if the process had stopped after each transfer and before its answer was written down
    const db = new Database(join(g.home, 'postage.sqlite'));
    const lost = db.prepare("UPDATE refunds SET state = 'sending', result = NULL WHERE ref = ?");
    expect(lost.run(refs.toBob).changes).toBe(1);
    expect(lost.run(refs.toDan).changes).toBe(1);
    db.close();
    const before = { alice: bank.balance(alice.id), bob: bank.balance(bob.id), gateway: await issuerBalance(g.gateway.entityId) };
    g = await startTestGateway(t, policy, postfix.port, gatewayConfig(), gatewayOptions(), g.home);
    await g.gateway.sweep();
    const check = new Database(join(g.home, 'postage.sqlite'), { readonly: true });
    const state = (ref: string) => (check.prepare('SELECT state FROM refunds WHERE ref = ?').get(ref) as { state: string }).state;
    // the bank answers the same Idempotency-Key with its first answer: settled as paid, not paid again
    expect(state(refs.toBob as string)).toBe('paid');
    // the gateway's client holds nothing for it: its outcome is unknown, and it is not sent again
    expect(state(refs.toDan as string)).toBe('unknown');
    check.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(bank.balance(alice.id)).toBe(before.alice);
    expect(bank.balance(bob.id)).toBe(before.bob);
    expect(await issuerBalance(g.gateway.entityId)).toBe(before.gateway);
    expect(await ledgerSum()).toBe(0n);
  });
});

describe('bank tokens', () => {
  it('refuses to start with a token of another customer than the payee it is given for', async () => {
    await writeFile(join(work, 'not-bob.token'), `${alice.token}\n`, { mode: 0o600 });
    const settings = {
      ...gatewayConfig(),
      LCP_MAIL_BANK_ACCOUNTS: JSON.stringify({ 'bob@bank.com': { url: bank.url, tokenFile: join(work, 'not-bob.token') } }),
    };
    await expect(startTestGateway(t, policy, postfix.port, settings, gatewayOptions())).rejects.toThrow(
      'the bank token given for bob@bank.com is for the customer alice@bank.com',
    );
  });
});

// Section 4 (spam reduction) in containers: a stranger's mail to bob@example.org costs postage in
// money.com dollars, paid at money.com and checked by the gateway (mx.example.org) before it hands
// the message to Postfix (mailstore.example.org), which delivers it to Bob's maildir. swaks is the
// outside SMTP client; the stranger pays with its own key through the gateway's sender CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { units } from './issuer-container.js';
import { finalReply, MailWorld, MAILSTORE, MAX_BYTES, postageOffer, PRICE, replies, WSDL } from './mail-world.js';

let w: MailWorld;
beforeAll(async () => {
  w = await MailWorld.start('mail-gateway');
});
afterAll(() => w?.close());

const strangerMail = (messageId: string, extra: string[] = []) => [
  '--from', 'stranger@outside.test',
  '--to', 'bob@example.org',
  '--header', `Message-Id: ${messageId}`,
  '--header', 'Subject: hello from a stranger',
  '--body', 'Would you like to buy a bridge?',
  ...extra,
];

/** Balances at money.com of the stranger and the gateway, and the fees collected. */
async function ledger(): Promise<{ stranger: bigint; gateway: bigint; fees: bigint; sum: bigint }> {
  const [stranger, gateway, totals] = await Promise.all([w.money.balance(w.strangerId), w.money.balance(w.gatewayId), w.money.totals()]);
  return { stranger, gateway, fees: totals.fees, sum: totals.sum };
}

describe('pay-to-send mail: money.com, the gateway and Postfix in containers', () => {
  let ref = '';

  it('refuses an unpaid stranger with the price, the currency, the payee and a reference', async () => {
    const { code, output } = await w.swaks(strangerMail('<first-contact@outside.test>'));
    expect(code).not.toBe(0);
    const answer = finalReply(output);
    expect(answer).toMatch(/^550-5\.7\.0 Postage due: bob@example\.org accepts/);
    expect(postageOffer(answer)).toMatchObject({ amount: PRICE, currency: WSDL, payee: w.gatewayId });
    expect(postageOffer(answer).ref).toMatch(/^pst_/);
    expect(await w.bobsMailbox()).toEqual([]);
  });

  it('delivers a stranger who paid, to the maildir, with the postage moved at money.com', async () => {
    const before = await ledger();
    const out = await w.sendPaid([
      '--from', 'stranger@outside.test', '--to', 'bob@example.org', '--subject', 'paid hello',
      '--text', 'Worth five cents to you.', '--message-id', '<paid@outside.test>', '--max', `0.10@${WSDL}`,
    ]);
    expect(out).toMatch(/message <paid@outside\.test> delivered \(postage 0\.05 paid, reference pst_\S+\)/);
    ref = /reference (pst_[A-Za-z0-9_-]+)/.exec(out)?.[1] as string;
    const [delivered] = await w.waitForMail(1);
    expect(delivered).toContain(`X-LCP-Postage: paid ref=${ref}; amount=${PRICE}; currency=${WSDL}`);
    expect(delivered).toContain('Worth five cents to you.');
    expect(delivered).toMatch(new RegExp(`by ${MAILSTORE.replace(/\./g, '\\.')}`)); // Postfix delivered it
    const after = await ledger();
    const fee = after.fees - before.fees;
    expect(after.gateway - before.gateway).toBe(units(PRICE));
    expect(before.stranger - after.stranger).toBe(units(PRICE) + fee);
    expect(after.sum).toBe(0n);
  }, 300_000); // the CLI starts Node, fetches the WSDL and pays: slow on a loaded machine

  it('lets one payment pass one message only', async () => {
    const other = await w.swaks(strangerMail('<second@outside.test>', ['--header', `X-LCP-Payment: ${ref}`]));
    expect(other.code).not.toBe(0);
    expect(finalReply(other.output)).toMatch(/^550 5\.7\.0 Postage pst_\S+ was quoted for another message/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await w.bobsMailbox()).toHaveLength(1);
  });

  it('returns the postage when Bob marks the message as wanted, once', async () => {
    const listed = await w.recipientsApi('GET', '/v1/messages');
    expect((listed.body.messages as { reference: string }[]).map((m) => m.reference)).toContain(ref);
    const before = await ledger();
    const first = await w.recipientsApi('POST', '/v1/refunds', { reference: ref });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ result: 'success', amount: PRICE, to: w.strangerId });
    const second = await w.recipientsApi('POST', '/v1/refunds', { reference: ref });
    expect(second.body).toMatchObject({ result: 'success', repeated: true });
    const after = await ledger();
    const fee = after.fees - before.fees;
    expect(after.stranger - before.stranger).toBe(units(PRICE));
    expect(before.gateway - after.gateway).toBe(units(PRICE) + fee);
    expect(after.sum).toBe(0n);
  });

  it('delivers an allow-listed sender free', async () => {
    const { code, output } = await w.swaks(['--from', 'carol@friends.test', '--to', 'bob@example.org', '--header', 'Subject: from a friend']);
    expect(finalReply(output)).toMatch(/^250 2\.0\.0 Accepted \(postage: free\)/);
    expect(code).toBe(0);
    const messages = await w.waitForMail(2);
    expect(messages.some((m) => m.includes('Subject: from a friend') && m.includes('X-LCP-Postage: free'))).toBe(true);
  });

  it('refuses an oversize message with 552', async () => {
    // a body of about twice the gateway's limit, made in the container swaks runs in
    await w.postfix.exec(['sh', '-c', `head -c ${2 * MAX_BYTES} /dev/zero | tr '\\0' y | fold -w 76 > /tmp/big.txt`], { user: 'root' });
    const { code, output } = await w.swaks(['--from', 'carol@friends.test', '--to', 'bob@example.org', '--body', '/tmp/big.txt']);
    expect(code).not.toBe(0);
    expect(output).toMatch(/552 5\.3\.4 Message too big/);
    expect(await w.bobsMailbox()).toHaveLength(2);
  });

  it('is not an open relay: a recipient outside example.org is refused at RCPT', async () => {
    const { code, output } = await w.swaks(['--from', 'carol@friends.test', '--to', 'someone@elsewhere.test']);
    expect(code).not.toBe(0);
    expect(replies(output).some((l) => l.startsWith('550 5.7.1 Relaying denied'))).toBe(true);
  });

  it('keeps Postfix behind the gateway: mail straight to Postfix from another host is refused', async () => {
    const result = await w.postfix.container.exec(
      ['swaks', '--server', `${MAILSTORE}:25`, '--from', 'stranger@outside.test', '--to', 'bob@example.org', '--timeout', '30'],
      { user: 'root' },
    );
    expect(result.exitCode).not.toBe(0);
    expect(replies(result.output).some((l) => /^554 5\.7\.1 .*Client host rejected/.test(l))).toBe(true);
    expect(await w.bobsMailbox()).toHaveLength(2);
    expect(await w.money.sum()).toBe(0n);
  });
});

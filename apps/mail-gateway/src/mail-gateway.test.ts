// The gateway between swaks (Debian's SMTP client, as an outside sender) and the real Postfix
// (delivering to maildirs), paid through a real money.com and a real local LCP agent.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newHolder, connectHolder } from '@lcp/issuer/testing';
import { readPostageReply } from './postage-reply.js';
import { runSendCli } from './sender/cli.js';
import { agentPayer, issuerPayer, sendWithPostage, PostageRefusedError } from './sender/send-with-postage.js';
import { startTestPostfix, type TestPostfix } from './test-postfix.js';
import {
  finalReply,
  rawSmtp,
  recipientToken,
  replies,
  startTestGateway,
  startTestIssuer,
  startTestSender,
  swaks,
  type TestGateway,
  type TestIssuer,
  type TestSender,
} from './test-support.js';

let t: TestIssuer;
let postfix: TestPostfix;
let g: TestGateway;
let sender: TestSender;
let wsdl: string;
const bobToken = recipientToken('bob');

beforeAll(async () => {
  [t, postfix] = await Promise.all([startTestIssuer(), startTestPostfix(['bob@example.org', 'dan@example.org', 'eve@example.org'])]);
  wsdl = t.issuer.wsdlUrl;
  const policy = {
    currencies: { [wsdl]: { scale: 2 } },
    recipients: {
      'bob@example.org': { prices: { [wsdl]: '0.05' }, allow: ['carol@friends.test'], tokenSha256: bobToken.tokenSha256 },
      'dan@example.org': { prices: { [wsdl]: '0.10' } },
    },
  };
  [g, sender] = await Promise.all([
    startTestGateway(t, policy, postfix.port, { LCP_MAIL_MAX_BYTES: String(64 * 1024), LCP_MAIL_MAX_RECIPIENTS: '3' }),
    startTestSender(t),
  ]);
  await t.issuer.ledger.mint(sender.agent.entityId as never, 10_00n, 'fund-sender');
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([g?.stop(), sender?.stop()]);
  await Promise.allSettled([postfix?.stop(), t?.stop()]);
});

const balance = (id: string) => t.issuer.ledger.balance(id);
const sumOfBalances = async () => (await t.issuer.ledger.totals()).sum;
const stranger = (messageId: string, extra: string[] = []) => [
  '--from', 'stranger@outside.test',
  '--to', 'bob@example.org',
  '--header', `Message-Id: ${messageId}`,
  '--header', 'Subject: hello from a stranger',
  '--body', 'Would you like to buy a bridge?',
  ...extra,
];

describe('an unpaid stranger, then a paid one (swaks to Postfix)', () => {
  const messageId = '<first-contact@outside.test>';
  let ref = '';

  it('refuses an unpaid stranger with the price, currency, payee and a reference', async () => {
    const { code, output } = await swaks(g.gateway.port, stranger(messageId));
    expect(code).not.toBe(0);
    const answer = finalReply(output);
    expect(answer).toMatch(/^550-5\.7\.0 Postage due: bob@example\.org accepts/);
    const offers = readPostageReply(answer);
    expect(offers).toHaveLength(1);
    expect(offers[0]).toMatchObject({ amount: '0.05', currency: wsdl, payee: g.gateway.entityId });
    ref = offers[0]?.ref as string;
    expect(answer).toContain(`X-LCP-Payment: ${ref}`);
    // asking again for the same message gives the same reference: one message, one quote
    const again = readPostageReply(finalReply((await swaks(g.gateway.port, stranger(messageId))).output));
    expect(again[0]?.ref).toBe(ref);
    expect(await postfix.mailbox('bob@example.org')).toEqual([]);
  });

  it('delivers the message once the stranger paid, to the maildir, with the postage recorded', async () => {
    const before = { sender: await balance(sender.agent.entityId), gateway: await balance(g.gateway.entityId) };
    expect(await sender.client.pay({ to: g.gateway.entityId, amount: '0.05', currency: wsdl, transactionId: ref })).toMatchObject({ result: 'success' });
    const { code, output } = await swaks(g.gateway.port, stranger(messageId, ['--header', `X-LCP-Payment: ${ref}`, '--header', `X-LCP-Refund-To: ${sender.agent.entityId}`]));
    expect(finalReply(output)).toMatch(/^250 2\.0\.0 Accepted \(postage: paid\)/);
    expect(code).toBe(0);
    const [delivered] = await postfix.waitForMail('bob@example.org', 1);
    expect(delivered).toContain(`X-LCP-Postage: paid ref=${ref}; amount=0.05; currency=${wsdl}`);
    expect(delivered).toContain('Would you like to buy a bridge?');
    expect(await balance(sender.agent.entityId)).toBe(before.sender - 5n);
    expect(await balance(g.gateway.entityId)).toBe(before.gateway + 5n);
    expect(await sumOfBalances()).toBe(0n);
  });

  it('lets one payment pass one message only', async () => {
    const other = await swaks(g.gateway.port, stranger('<second@outside.test>', ['--header', `X-LCP-Payment: ${ref}`]));
    expect(finalReply(other.output)).toMatch(/^550 5\.7\.0 Postage pst_\S+ was quoted for another message/);
    // the same message again (its sender did not see our answer) is not delivered twice
    const repeat = await swaks(g.gateway.port, stranger(messageId, ['--header', `X-LCP-Payment: ${ref}`]));
    expect(finalReply(repeat.output)).toMatch(/^250 2\.0\.0 Already delivered/);
    // the same sender and Message-ID to another recipient set is another message
    const widened = await swaks(g.gateway.port, [...stranger(messageId, ['--header', `X-LCP-Payment: ${ref}`]), '--to', 'bob@example.org,eve@example.org']);
    expect(finalReply(widened.output)).toMatch(/^550 5\.7\.0 .*quoted for another message/);
    await new Promise((r) => setTimeout(r, 500));
    expect(await postfix.mailbox('bob@example.org')).toHaveLength(1);
  });

  it('refuses a reference the gateway never made, and a payment not yet at the issuer (451, try later)', async () => {
    const unknown = await swaks(g.gateway.port, stranger('<third@outside.test>', ['--header', 'X-LCP-Payment: pst_AAAAAAAAAAAAAAAAAAAAAA']));
    expect(finalReply(unknown.output)).toMatch(/^550 5\.7\.0 Unknown postage reference/);
    const quoted = readPostageReply(finalReply((await swaks(g.gateway.port, stranger('<fourth@outside.test>'))).output))[0]?.ref as string;
    const unpaid = await swaks(g.gateway.port, stranger('<fourth@outside.test>', ['--header', `X-LCP-Payment: ${quoted}`]));
    expect(finalReply(unpaid.output)).toMatch(/^451 4\.7\.1 The payment pst_\S+ has not arrived/);
  });

  it('returns the postage when the recipient marks the message as wanted, once', async () => {
    const before = { sender: await balance(sender.agent.entityId), gateway: await balance(g.gateway.entityId) };
    const post = (token: string, body: unknown) =>
      fetch(`${g.gateway.apiUrl}/v1/refunds`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('lcpm_not_a_token_at_all', { reference: ref })).status).toBe(401);
    const listed = (await (await fetch(`${g.gateway.apiUrl}/v1/messages`, { headers: { authorization: `Bearer ${bobToken.token}` } })).json()) as { messages: { reference: string }[] };
    expect(listed.messages.map((m) => m.reference)).toContain(ref);
    const first = await post(bobToken.token, { reference: ref });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ result: 'success', amount: '0.05', to: sender.agent.entityId });
    const second = await post(bobToken.token, { reference: ref });
    expect(await second.json()).toMatchObject({ result: 'success', repeated: true });
    expect(await balance(sender.agent.entityId)).toBe(before.sender + 5n);
    expect(await balance(g.gateway.entityId)).toBe(before.gateway - 5n);
    expect(await sumOfBalances()).toBe(0n);
  });
});

describe('free mail', () => {
  it('delivers an allow-listed sender free, without asking for postage', async () => {
    const { code, output } = await swaks(g.gateway.port, ['--from', 'carol@friends.test', '--to', 'bob@example.org', '--header', 'Subject: from a friend']);
    expect(code).toBe(0);
    expect(finalReply(output)).toMatch(/^250 2\.0\.0 Accepted \(postage: free\)/);
    const messages = await postfix.waitForMail('bob@example.org', 2);
    expect(messages.some((m) => m.includes('Subject: from a friend') && m.includes('X-LCP-Postage: free'))).toBe(true);
  });

  it('delivers free to a recipient without a policy, and replaces a forged X-LCP-Postage header', async () => {
    const { code } = await swaks(g.gateway.port, ['--from', 'stranger@outside.test', '--to', 'eve@example.org', '--header', 'X-LCP-Postage: paid ref=forged', '--header', 'Subject: forged']);
    expect(code).toBe(0);
    const [message] = await postfix.waitForMail('eve@example.org', 1);
    expect(message?.match(/^X-LCP-Postage:.*$/gm)).toEqual(['X-LCP-Postage: free']);
  });

  it('passes replies to mail the recipient sent, and correspondents it named, free', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${g.gateway.apiUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${bobToken.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/v1/sent', { messageId: '<bob-asks@example.org>', to: ['newfriend@far.test'] })).status).toBe(200);
    const reply = await swaks(g.gateway.port, ['--from', 'someone@else.test', '--to', 'bob@example.org', '--header', 'In-Reply-To: <bob-asks@example.org>']);
    expect(finalReply(reply.output)).toMatch(/^250 .*postage: free/);
    const correspondent = await swaks(g.gateway.port, ['--from', 'newfriend@far.test', '--to', 'bob@example.org']);
    expect(finalReply(correspondent.output)).toMatch(/^250 .*postage: free/);
  });
});

describe('what the gateway refuses', () => {
  it('is not an open relay', async () => {
    const { code, output } = await swaks(g.gateway.port, ['--from', 'stranger@outside.test', '--to', 'someone@elsewhere.test']);
    expect(code).not.toBe(0);
    expect(replies(output).some((l) => l.startsWith('550 5.7.1 Relaying denied'))).toBe(true);
  });

  it('refuses an oversize message with 552 at once, without reading the rest', async () => {
    const big = ('x'.repeat(998) + '\r\n').repeat(10);
    const transcript = await rawSmtp(
      g.gateway.port,
      ['EHLO client.test', 'MAIL FROM:<stranger@outside.test>', 'RCPT TO:<eve@example.org>', 'DATA', { raw: 'Subject: big\r\n\r\n' }, ...Array.from({ length: 12 }, () => ({ raw: big }))],
      1000,
    );
    // the 552 came and the connection closed although the message never ended with "."
    expect(transcript).toMatch(/552 5\.3\.4 Message too big/);
    const bigFile = join(g.home, 'big.txt');
    await writeFile(bigFile, 'y'.repeat(76).concat('\n').repeat(3000));
    const swaksBig = await swaks(g.gateway.port, ['--from', 'stranger@outside.test', '--to', 'eve@example.org', '--body', bigFile]);
    expect(swaksBig.output).toMatch(/552 5\.3\.4 Message too big/);
    // SIZE declared in MAIL FROM is refused before DATA
    const declared = await rawSmtp(g.gateway.port, ['EHLO client.test', `MAIL FROM:<stranger@outside.test> SIZE=${1024 * 1024}`, 'QUIT'], 200);
    expect(declared).toMatch(/552 .*exceeds fixed maximum message size/);
    expect(await postfix.mailbox('eve@example.org')).toHaveLength(1);
  });

  it('refuses more recipients than the limit', async () => {
    const { output } = await swaks(g.gateway.port, ['--from', 'carol@friends.test', '--to', 'a@example.org,b@example.org,c@example.org,d@example.org']);
    expect(replies(output).some((l) => l.startsWith('452 4.5.3 Too many recipients'))).toBe(true);
  });

  it('refuses bare line feeds (SMTP smuggling), header injection and odd addresses', async () => {
    const smuggled = await rawSmtp(g.gateway.port, [
      'EHLO client.test',
      'MAIL FROM:<stranger@outside.test>',
      'RCPT TO:<eve@example.org>',
      'DATA',
      { raw: 'Subject: hi\r\n\r\nbody\n.\nMAIL FROM:<x@y.test>\r\n.\r\n' },
      'QUIT',
    ]);
    expect(smuggled).toMatch(/550 5\.6\.0 Message refused: a bare LF in the message/);
    const injected = await rawSmtp(g.gateway.port, [
      'EHLO client.test',
      'MAIL FROM:<stranger@outside.test>',
      'RCPT TO:<eve@example.org>',
      'DATA',
      { raw: 'Subject: hi\r\nnot a header line\r\n\r\nbody\r\n.\r\n' },
      'MAIL FROM:<sender@outside.test> BODY=8BITMIME',
      'RCPT TO:<bob..two.dots@example.org>',
      'RCPT TO:<"quoted local"@example.org>',
      'QUIT',
    ]);
    expect(injected).toMatch(/550 5\.6\.0 Message refused: a header line without a field name/);
    // both odd recipients refused (smtp-server's parser, then the gateway's own check)
    expect(injected.match(/^(501|553) .*/gm)).toHaveLength(2);
    expect(await postfix.mailbox('eve@example.org')).toHaveLength(1);
  });

  it('offers STARTTLS, and delivers over it', async () => {
    const { code, output } = await swaks(g.gateway.port, ['--tls', '--from', 'carol@friends.test', '--to', 'eve@example.org', '--header', 'Subject: over TLS']);
    expect(output).toMatch(/250-STARTTLS/);
    expect(output).toMatch(/TLS started/);
    expect(code).toBe(0);
    await postfix.waitForMail('eve@example.org', 2);
  });
});

describe('the sender library and CLI', () => {
  it('reads the price, pays through the agent, sends again, and a retried message is charged once', async () => {
    const before = await balance(sender.agent.entityId);
    const steps: string[] = [];
    const options = {
      smtp: { host: '127.0.0.1', port: g.gateway.port, requireTLS: true, ca: t.ca.certPem, servername: 'mx.example.org' },
      message: { from: 'alice@outside.test', to: 'dan@example.org', subject: 'paid by the library', text: 'hello Dan', messageId: '<library-1@outside.test>' },
      payer: agentPayer(sender.client),
      onStep: (line: string) => steps.push(line),
    };
    const result = await sendWithPostage(options);
    expect(result.paid).toMatchObject({ amount: '0.1', currency: wsdl });
    expect(result.sends).toBe(2);
    expect(await balance(sender.agent.entityId)).toBe(before - 10n);
    // sending the whole message again (say the program restarted) pays nothing more
    const again = await sendWithPostage(options);
    expect(again.paid).toBeUndefined();
    expect(again.response).toMatch(/Already delivered/);
    expect(await balance(sender.agent.entityId)).toBe(before - 10n);
    await postfix.waitForMail('dan@example.org', 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await postfix.mailbox('dan@example.org')).toHaveLength(1);
    expect(await t.issuer.ledger.totals()).toMatchObject({ sum: 0n, negativeAccounts: [] });
  });

  it('pays as an LCP holder directly (IssuerClient)', async () => {
    const holder = await newHolder();
    await t.issuer.ledger.mint(holder.id, 1_00n, `fund-${holder.id}`);
    const client = await connectHolder(t, holder);
    try {
      const result = await sendWithPostage({
        smtp: { host: '127.0.0.1', port: g.gateway.port },
        message: { from: 'holder@outside.test', to: 'bob@example.org', subject: 'from a holder', text: 'hi' },
        payer: issuerPayer(client, holder.id, wsdl),
      });
      expect(result.paid?.amount).toBe('0.05');
      expect(await balance(holder.id)).toBe(95n);
    } finally {
      client.close();
    }
  });

  it('refuses to pay more than the sender allows, and the agent keeps its own limit', async () => {
    const before = await balance(sender.agent.entityId);
    await expect(
      sendWithPostage({
        smtp: { host: '127.0.0.1', port: g.gateway.port },
        message: { from: 'alice@outside.test', to: 'dan@example.org', subject: 'too dear' },
        payer: agentPayer(sender.client),
        maxAmount: { [wsdl]: '0.05' },
      }),
    ).rejects.toBeInstanceOf(PostageRefusedError);
    const stingy = await startTestSender(t, '0.01');
    try {
      await t.issuer.ledger.mint(stingy.agent.entityId as never, 1_00n, 'fund-stingy');
      await expect(
        sendWithPostage({
          smtp: { host: '127.0.0.1', port: g.gateway.port },
          message: { from: 'stingy@outside.test', to: 'bob@example.org', subject: 'over my limit' },
          payer: agentPayer(stingy.client),
        }),
      ).rejects.toMatchObject({ code: 'purchaseLimitExceeded' });
      expect(await balance(stingy.agent.entityId)).toBe(1_00n);
    } finally {
      await stingy.stop();
    }
    expect(await balance(sender.agent.entityId)).toBe(before);
  });

  it('lcp-postage send pays and delivers', async () => {
    const out: string[] = [];
    const already = (await postfix.mailbox('bob@example.org')).length;
    const result = await runSendCli(
      ['send', '--server', `127.0.0.1:${g.gateway.port}`, '--from', 'cli@outside.test', '--to', 'bob@example.org', '--subject', 'from the CLI', '--text', 'hi', '--agent-url', sender.agent.url, '--starttls', '--ca', t.caPath, '--servername', 'mx.example.org'],
      { LCP_POSTAGE_AGENT_TOKEN: sender.token },
      (line) => out.push(line),
    );
    expect(result.paid?.amount).toBe('0.05');
    expect(out.at(-1)).toMatch(/delivered \(postage 0\.05 paid, reference pst_/);
    const messages = await postfix.waitForMail('bob@example.org', already + 1);
    expect(messages.some((m) => m.includes('Subject: from the CLI'))).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { isAddress } from './addresses.js';
import { parseMessage, rewriteMessage } from './message.js';
import { postageReplyLines, readPostageReply } from './postage-reply.js';
import { parseConfig } from './config.js';
import { parsePolicy } from './policy.js';
import { runSendCli, UsageError } from './sender/cli.js';

const crlf = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'), 'latin1');

describe('messages', () => {
  it('reads the headers postage depends on, folded lines included', () => {
    const m = parseMessage(crlf('Message-ID: <a@b.test>\nX-LCP-Payment: pst_AAAAAAAAAAAAAAAAAAAAAA\nReferences: <x@y>\n <z@w>\nSubject: hi\n\nbody\n'));
    expect(m).toMatchObject({ messageId: '<a@b.test>', payment: 'pst_AAAAAAAAAAAAAAAAAAAAAA', inReplyTo: ['<x@y>', '<z@w>'] });
    expect(rewriteMessage(m, 'free').toString('latin1')).toBe(
      'X-LCP-Postage: free\r\nMessage-ID: <a@b.test>\r\nX-LCP-Payment: pst_AAAAAAAAAAAAAAAAAAAAAA\r\nReferences: <x@y>\r\n <z@w>\r\nSubject: hi\r\n\r\nbody\r\n',
    );
  });

  it('refuses bare CR or LF, NUL, duplicate or unreadable postage headers, lines without a name', () => {
    expect(() => parseMessage(Buffer.from('Subject: a\nb: c\r\n\r\n'))).toThrow(/bare LF/);
    expect(() => parseMessage(Buffer.from('Subject: a\rb: c\r\n\r\n'))).toThrow(/bare CR/);
    expect(() => parseMessage(Buffer.from('Subject: a\0\r\n\r\n'))).toThrow(/NUL/);
    expect(() => parseMessage(crlf('Message-ID: <a@b>\nMessage-ID: <c@d>\n\n'))).toThrow(/more than one/);
    expect(() => parseMessage(crlf('X-LCP-Payment: pst_short\n\n'))).toThrow(/X-LCP-Payment/);
    expect(() => parseMessage(crlf('X-LCP-Refund-To: nobody\n\n'))).toThrow(/entity id/);
    expect(() => parseMessage(crlf('X-LCP-Refund-To: al ice@bank.com\n\n'))).toThrow(/payment name/);
    expect(() => parseMessage(crlf('Subject: a\nno colon here\n\n'))).toThrow(/field name/);
  });

  it('takes a refund address as an entity id or a payment name', () => {
    expect(parseMessage(crlf(`X-LCP-Refund-To: ${'AB'.repeat(32)}\n\n`)).refundTo).toBe('ab'.repeat(32));
    expect(parseMessage(crlf('X-LCP-Refund-To: alice@Bank.COM\n\n')).refundTo).toBe('alice@bank.com');
  });

  it('accepts plain addresses only', () => {
    expect(isAddress('bob@example.org')).toBe(true);
    for (const bad of ['bob..x@example.org', '"q"@example.org', 'bob@-x-.org', 'bob@localhost', 'a b@example.org', 'bob@example.org\r\nRCPT']) {
      expect(isAddress(bad)).toBe(false);
    }
  });
});

describe('the postage reply', () => {
  it('is read back by a program from the lines a person reads', () => {
    const lines = postageReplyLines(['bob@example.org'], [
      { ref: 'pst_AAAAAAAAAAAAAAAAAAAAAA', amount: 5n, scale: 2, currency: 'http://money.com/lcp.wsdl', payee: 'ab'.repeat(32), expiresAt: Date.UTC(2030, 0, 1) },
    ]);
    const transcript = lines.map((l, i) => `550${i < lines.length - 1 ? '-' : ' '}${l}`).join('\r\n');
    expect(readPostageReply(transcript)).toEqual([
      { ref: 'pst_AAAAAAAAAAAAAAAAAAAAAA', amount: '0.05', currency: 'http://money.com/lcp.wsdl', payee: 'ab'.repeat(32), expires: '2030-01-01T00:00:00Z' },
    ]);
    expect(readPostageReply('550 5.7.1 Relaying denied')).toEqual([]);
  });

  it('names a bank customer as the payee, and nothing else but a key', () => {
    const line = (payee: string) => `550-5.7.0 LCP-Postage ref=pst_AAAAAAAAAAAAAAAAAAAAAA; amount=0.05; currency=http://money.com/lcp.wsdl; payee=${payee}; expires=2030-01-01T00:00:00Z`;
    expect(readPostageReply(line('bob@bank.com'))).toMatchObject([{ payee: 'bob@bank.com' }]);
    for (const bad of ['bob@', 'bob bank.com', 'AB'.repeat(32), 'bob@bank.com\u0000']) expect(readPostageReply(line(bad))).toEqual([]);
  });
});

describe('configuration and policy', () => {
  const base = { LCP_MAIL_HOME: '/tmp/x', LCP_MAIL_DOMAINS: 'example.org', LCP_MAIL_DOWNSTREAM: '127.0.0.1:10025', LCP_MAIL_TLS_CERT: 'c', LCP_MAIL_TLS_KEY: 'k' };

  it('names the bad variable', () => {
    expect(parseConfig(base)).toMatchObject({ domains: ['example.org'], downstream: { host: '127.0.0.1', port: 10025 }, maxBytes: 10 * 1024 * 1024 });
    expect(() => parseConfig({ ...base, LCP_MAIL_DOMAINS: 'not a domain' })).toThrow(/LCP_MAIL_DOMAINS/);
    expect(() => parseConfig({ ...base, LCP_MAIL_DOWNSTREAM: 'nowhere' })).toThrow(/LCP_MAIL_DOWNSTREAM/);
    expect(() => parseConfig({ ...base, LCP_MAIL_TLS_KEY: undefined })).toThrow(/LCP_MAIL_TLS_KEY/);
  });

  it('reads the bank accounts of payees', () => {
    const accounts = { 'Bob@Bank.com': { tokenFile: 'bob.token' }, 'carol@bank.example': { url: 'https://bank.example:8443', token: 'abc_DEF-1' } };
    expect(parseConfig({ ...base, LCP_MAIL_BANK_ACCOUNTS: JSON.stringify(accounts) }).bankAccounts).toEqual([
      { name: 'Bob@bank.com', url: 'https://bank.com', tokenPath: '/tmp/x/bob.token' },
      { name: 'carol@bank.example', url: 'https://bank.example:8443', token: 'abc_DEF-1' },
    ]);
    for (const bad of ['not json', '{"bob": {"token": "x"}}', '{"bob@bank.com": {}}', '{"bob@bank.com": {"token": "a", "tokenFile": "b"}}', '{"bob@bank.com": {"url": "http://bank.com", "token": "a"}}']) {
      expect(() => parseConfig({ ...base, LCP_MAIL_BANK_ACCOUNTS: bad })).toThrow(/LCP_MAIL_BANK_ACCOUNTS/);
    }
    expect(parseConfig(base)).toMatchObject({ bankAccounts: [], sweepSeconds: 300, refundGraceSeconds: 600 });
    expect(() => parseConfig({ ...base, LCP_MAIL_REFUND_GRACE_SECONDS: '-1' })).toThrow(/LCP_MAIL_REFUND_GRACE_SECONDS/);
  });

  it('checks prices against the currencies listed', () => {
    const wsdl = 'http://money.com/lcp.wsdl';
    const policy = parsePolicy({ currencies: { [wsdl]: { scale: 2 } }, recipients: { 'Bob@Example.org': { prices: { [wsdl]: '0.05' } } } }, 'test');
    expect(policy.recipients.get('bob@example.org')?.prices.get(wsdl)).toBe(5n);
    expect(() => parsePolicy({ currencies: {}, recipients: { 'bob@example.org': { prices: { [wsdl]: '1' } } } }, 'test')).toThrow(/not listed/);
    expect(() => parsePolicy({ currencies: { [wsdl]: { scale: 2 } }, recipients: { 'bob@example.org': { prices: { [wsdl]: '0.001' } } } }, 'test')).toThrow(/prices/);
    expect(() => parsePolicy({ currencies: { [wsdl]: { scale: 2 } }, recipients: { 'bob@example.org': { prices: {} } } }, 'test')).toThrow(/at least one/);
  });

  it('takes a bank customer as a payee', () => {
    const wsdl = 'http://money.com/lcp.wsdl';
    const policy = parsePolicy({ currencies: { [wsdl]: { scale: 2 } }, recipients: { 'bob@example.org': { prices: { [wsdl]: '0.05' }, payee: 'bob@Bank.com' } } }, 'test');
    expect(policy.recipients.get('bob@example.org')?.payee).toBe('bob@bank.com');
    expect(() => parsePolicy({ currencies: { [wsdl]: { scale: 2 } }, recipients: { 'bob@example.org': { prices: { [wsdl]: '0.05' }, payee: 'ab'.repeat(32) } } }, 'test')).toThrow(
      /payee: must be a payment name/,
    );
  });
});

describe('the sender CLI', () => {
  const base = ['send', '--server', '127.0.0.1:1', '--from', 'a@a.test', '--to', 'b@example.org'];
  it('pays through the agent (token from the environment) or as a holder (--identity with --currency)', async () => {
    await expect(runSendCli(base, {})).rejects.toThrow(/LCP_POSTAGE_AGENT_TOKEN is not set/);
    await expect(runSendCli([...base, '--identity', '/nonexistent.pem'], {})).rejects.toThrow(/--identity needs --max/);
    // from a bank account too: the token's daily limit is no bound on what one reply asks for
    await expect(runSendCli([...base, '--bank-url', 'https://bank.com'], { LCP_POSTAGE_BANK_TOKEN: 'token' })).rejects.toThrow(/--bank-url needs --max/);
    const max = ['--max', '0.10@http://money.com/lcp.wsdl'];
    await expect(runSendCli([...base, ...max, '--identity', '/nonexistent.pem'], {})).rejects.toThrow(/--identity needs --currency/);
    await expect(runSendCli([...base, ...max, '--identity', '/nonexistent.pem', '--currency', 'http://money.com/lcp.wsdl', '--scale', 'x'], {})).rejects.toThrow(UsageError);
  });

  it('pays from a bank with --bank-url and the token from the environment', async () => {
    const max = ['--max', '0.10@http://money.com/lcp.wsdl'];
    await expect(runSendCli([...base, ...max, '--bank-url', 'https://bank.com'], {})).rejects.toThrow(/LCP_POSTAGE_BANK_TOKEN is not set/);
    await expect(runSendCli([...base, ...max, '--bank-url', 'http://bank.com'], { LCP_POSTAGE_BANK_TOKEN: 'x' })).rejects.toThrow(/https origin/);
    await expect(runSendCli([...base, '--bank-url', 'https://bank.com', '--identity', '/x.pem', '--max', '1@http://m/lcp.wsdl'], {})).rejects.toThrow(/not both/);
  });
});

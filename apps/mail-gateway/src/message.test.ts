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
    expect(() => parseMessage(crlf('Subject: a\nno colon here\n\n'))).toThrow(/field name/);
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
});

describe('configuration and policy', () => {
  const base = { LCP_MAIL_HOME: '/tmp/x', LCP_MAIL_DOMAINS: 'example.org', LCP_MAIL_DOWNSTREAM: '127.0.0.1:10025', LCP_MAIL_TLS_CERT: 'c', LCP_MAIL_TLS_KEY: 'k' };

  it('names the bad variable', () => {
    expect(parseConfig(base)).toMatchObject({ domains: ['example.org'], downstream: { host: '127.0.0.1', port: 10025 }, maxBytes: 10 * 1024 * 1024 });
    expect(() => parseConfig({ ...base, LCP_MAIL_DOMAINS: 'not a domain' })).toThrow(/LCP_MAIL_DOMAINS/);
    expect(() => parseConfig({ ...base, LCP_MAIL_DOWNSTREAM: 'nowhere' })).toThrow(/LCP_MAIL_DOWNSTREAM/);
    expect(() => parseConfig({ ...base, LCP_MAIL_TLS_KEY: undefined })).toThrow(/LCP_MAIL_TLS_KEY/);
  });

  it('checks prices against the currencies listed', () => {
    const wsdl = 'http://money.com/lcp.wsdl';
    const policy = parsePolicy({ currencies: { [wsdl]: { scale: 2 } }, recipients: { 'Bob@Example.org': { prices: { [wsdl]: '0.05' } } } }, 'test');
    expect(policy.recipients.get('bob@example.org')?.prices.get(wsdl)).toBe(5n);
    expect(() => parsePolicy({ currencies: {}, recipients: { 'bob@example.org': { prices: { [wsdl]: '1' } } } }, 'test')).toThrow(/not listed/);
    expect(() => parsePolicy({ currencies: { [wsdl]: { scale: 2 } }, recipients: { 'bob@example.org': { prices: { [wsdl]: '0.001' } } } }, 'test')).toThrow(/prices/);
    expect(() => parsePolicy({ currencies: { [wsdl]: { scale: 2 } }, recipients: { 'bob@example.org': { prices: {} } } }, 'test')).toThrow(/at least one/);
  });
});

describe('the sender CLI', () => {
  const base = ['send', '--server', '127.0.0.1:1', '--from', 'a@a.test', '--to', 'b@example.org'];
  it('pays through the agent (token from the environment) or as a holder (--identity with --currency)', async () => {
    await expect(runSendCli(base, {})).rejects.toThrow(/LCP_POSTAGE_AGENT_TOKEN is not set/);
    await expect(runSendCli([...base, '--identity', '/nonexistent.pem'], {})).rejects.toThrow(/--identity needs --max/);
    const max = ['--max', '0.10@http://money.com/lcp.wsdl'];
    await expect(runSendCli([...base, ...max, '--identity', '/nonexistent.pem'], {})).rejects.toThrow(/--identity needs --currency/);
    await expect(runSendCli([...base, ...max, '--identity', '/nonexistent.pem', '--currency', 'http://money.com/lcp.wsdl', '--scale', 'x'], {})).rejects.toThrow(UsageError);
  });
});

// Shared by the gateway's tests and benchmark: a real money.com on loopback (no fees, so
// balances are easy to follow), the real Postfix as the downstream MTA, the gateway in a temp
// folder with a policy and a demo-CA certificate for STARTTLS, a real local LCP agent for the
// sender, and swaks (Debian's SMTP client) as the outside sender.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { hashPassword, parseConfig as parseBankConfig, startBank, type RunningBank } from '@lcp/bank';
import { AgentClient, createApplicationToken, startAgent, parseConfig as parseAgentConfig, writePolicyDocument, type RunningAgent } from '@lcp/agent';
import { loopbackLookup } from '@lcp/client';
import { issueServerCertificate } from '@lcp/crypto';
import { startTestIssuer as startSharedIssuer, type TestIssuer } from '@lcp/issuer/testing';
import { startMailGateway, type MailGatewayOptions, type RunningMailGateway } from './app.js';
import { parseConfig } from './config.js';
import { hashToken, type PolicyDocument } from './policy.js';

export const silent = pino({ level: 'silent' });
export type { TestIssuer };

export const startTestIssuer = (): Promise<TestIssuer> => startSharedIssuer({ LCP_FEE_RATE_PPM: '0', LCP_FEE_RESUMED_RATE_PPM: '0' });

export interface TestGateway {
  gateway: RunningMailGateway;
  home: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startTestGateway(
  t: TestIssuer,
  policy: PolicyDocument,
  downstreamPort: number,
  settings: Record<string, string> = {},
  options: Omit<MailGatewayOptions, 'logger' | 'lookup'> = {},
  home?: string,
): Promise<TestGateway> {
  home ??= await mkdtemp(join(tmpdir(), 'lcp-mail-'));
  const tls = await issueServerCertificate(t.ca, { hostnames: ['mx.example.org'] });
  await writeFile(join(home, 'tls-cert.pem'), tls.certPem);
  await writeFile(join(home, 'tls-key.pem'), tls.keyPem, { mode: 0o600 });
  await writeFile(join(home, 'policy.json'), JSON.stringify(policy));
  const env = {
    LCP_MAIL_HOME: home,
    LCP_MAIL_HOSTNAME: 'mx.example.org',
    LCP_MAIL_HOST: '127.0.0.1',
    LCP_MAIL_PORT: '0',
    LCP_MAIL_API_PORT: '0',
    LCP_MAIL_DOMAINS: 'example.org',
    LCP_MAIL_DOWNSTREAM: `127.0.0.1:${downstreamPort}`,
    LCP_MAIL_TLS_CERT: 'tls-cert.pem',
    LCP_MAIL_TLS_KEY: 'tls-key.pem',
    LCP_MAIL_ISSUER_CA: t.caPath,
    LCP_MAIL_PAYMENT_WAIT_MS: '1000',
    ...settings,
  };
  const gateway = await startMailGateway(parseConfig(env), { logger: silent, lookup: loopbackLookup, ...options });
  return {
    gateway,
    home,
    env,
    async stop() {
      await gateway.close();
      await rm(home as string, { recursive: true, force: true });
    },
  };
}

export interface TestBank {
  running: RunningBank;
  /** https://bank.com:<port>, reached through loopback lookup. */
  url: string;
  /** For name documents: the bank's HTTPS port by domain. */
  namePort: (domain: string) => number | undefined;
  /** Opens an opaque account and gives a token with these scopes and a daily limit (minor units). */
  customer(name: string, scopes: string[], dailyMax?: bigint): Promise<{ id: bigint; token: string }>;
  balance(customerId: bigint): bigint;
  stop(): Promise<void>;
}

/** A real bank.com on loopback in front of the test issuer, with a CA-signed certificate (the demo CA). */
export async function startTestBank(t: TestIssuer, currency: Record<string, unknown> = {}): Promise<TestBank> {
  const dir = await mkdtemp(join(tmpdir(), 'lcp-mail-bank-'));
  const issued = await issueServerCertificate(t.ca, { hostnames: ['bank.com'] });
  await writeFile(join(dir, 'cert.pem'), issued.certPem);
  await writeFile(join(dir, 'key.pem'), issued.keyPem, { mode: 0o600 });
  const running = await startBank(
    parseBankConfig({
      LCP_BANK_DOMAIN: 'bank.com',
      LCP_BANK_HOST: '127.0.0.1',
      LCP_BANK_PORT: '0',
      LCP_BANK_DATA_DIR: join(dir, 'data'),
      LCP_BANK_TLS_CERT: join(dir, 'cert.pem'),
      LCP_BANK_TLS_KEY: join(dir, 'key.pem'),
      LCP_BANK_CA: t.caPath,
      LCP_BANK_CURRENCIES: JSON.stringify([{ wsdl: t.issuer.wsdlUrl, scale: 2, ...currency }]),
      LCP_BANK_SECRET: 'a test secret that is long enough to pass',
      LCP_BANK_OPERATOR_PASSWORD_HASH: await hashPassword('operator password 1', 10),
      LCP_BANK_SCRYPT_LOG_N: '10',
      LCP_BANK_RECONCILE_INTERVAL_MS: '600000',
      LCP_BANK_LOG_LEVEL: 'silent',
    }),
    { logger: silent, lookup: loopbackLookup },
  );
  const bank = running.bank;
  const currencyId = (bank.currencies.list[0] as { id: bigint }).id;
  return {
    running,
    url: `https://bank.com:${running.port}`,
    namePort: (d) => (d === 'bank.com' ? running.port : undefined),
    async customer(name, scopes, dailyMax = 100_00n) {
      const customer = await bank.customers.signUp({ name, password: `${name} password 1`, kind: 'opaque' });
      if (!('id' in customer)) throw new Error(`sign-up of ${name} refused`);
      const token = bank.tokens.create(customer.id, `mail-${name}`, scopes as never, [{ currencyId, dailyMax }]).secret;
      return { id: customer.id, token };
    },
    balance: (customerId) => bank.balances({ id: customerId } as never)[0]?.balance ?? 0n,
    async stop() {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A token for the recipients' interface and the hash that goes into the policy. */
export function recipientToken(name: string): { token: string; tokenSha256: string } {
  const token = `lcpm_test_${name}_${Math.random().toString(36).slice(2)}`;
  return { token, tokenSha256: hashToken(token) };
}

export interface TestSender {
  agent: RunningAgent;
  client: AgentClient;
  token: string;
  stop(): Promise<void>;
}

/** A sender's local LCP agent whose "mail" application may spend up to `perPurchase` a message. */
export async function startTestSender(t: TestIssuer, perPurchase = '1'): Promise<TestSender> {
  const home = await mkdtemp(join(tmpdir(), 'lcp-mail-sender-'));
  const wsdl = t.issuer.wsdlUrl;
  const policyPath = join(home, 'policy.json');
  writePolicyDocument(policyPath, {
    currencies: { [wsdl]: { scale: 2 } },
    accept: [wsdl],
    applications: { mail: { spending: { [wsdl]: { perDay: '100', perPurchase } } } },
  });
  const token = createApplicationToken(policyPath, 'mail');
  const agent = await startAgent(parseAgentConfig({ LCP_AGENT_HOME: home, LCP_AGENT_PORT: '0', LCP_AGENT_ISSUER_CA: t.caPath, LCP_AGENT_NAME: 'sender' }), {
    logger: silent,
    lookup: loopbackLookup,
  });
  return {
    agent,
    token,
    client: new AgentClient({ url: agent.url, token }),
    async stop() {
      await agent.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

export interface SwaksResult {
  code: number;
  output: string;
}

/** swaks against the gateway; `args` are swaks's own options (e.g. --from, --to, --header). */
export function swaks(port: number, args: string[]): Promise<SwaksResult> {
  return new Promise((resolve) => {
    execFile(
      'swaks',
      ['--server', `127.0.0.1:${port}`, '--helo', 'client.test', '--timeout', '20', ...args],
      { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

/** The server's reply lines in a swaks transcript ("<-  250 ..." or "<** 550 ..."), without the arrows. */
export const replies = (output: string): string[] =>
  output
    .split('\n')
    .filter((l) => /^<(-|\*\*) /.test(l))
    .map((l) => l.replace(/^<(-|\*\*)\s+/, ''));

/** The last reply to DATA's end (the one after the message). */
export const finalReply = (output: string): string => {
  const lines = replies(output);
  const quit = lines.findIndex((l) => l.startsWith('221'));
  const upTo = quit === -1 ? lines : lines.slice(0, quit);
  return upTo.slice(upTo.findIndex((l) => l.startsWith('354')) + 1).join('\n');
};

/** A raw SMTP conversation: sends each line (CRLF added unless `raw`) and returns everything read. */
export function rawSmtp(port: number, chunks: (string | { raw: string })[], waitMs = 1500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let sent = false;
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (!sent && text.includes('220 ')) {
        sent = true;
        void (async () => {
          for (const chunk of chunks) {
            if (socket.destroyed) break;
            socket.write(typeof chunk === 'string' ? `${chunk}\r\n` : chunk.raw);
            await new Promise((r) => setTimeout(r, 50));
          }
          setTimeout(() => socket.end(), waitMs);
        })();
      }
    });
    socket.on('close', () => resolve(text));
    socket.on('error', (e) => (text ? resolve(text) : reject(e)));
  });
}

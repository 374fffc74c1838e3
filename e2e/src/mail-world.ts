// Section 4's pay-to-send mail in containers: money.com, the gateway (apps/mail-gateway) as
// mx.example.org in front of Debian's Postfix (mailstore.example.org, delivering to maildirs), and
// a stranger (outside.test) with a key of its own at money.com and the gateway's sender CLI.
// swaks, the outside SMTP client, runs in the Postfix container; Postfix takes mail only from
// the gateway, so swaks there is just another host of the network as far as the gateway knows.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, generateIdentity, issueServerCertificate, saveIdentity } from '@lcp/crypto';
import { World, type Party } from './containers.js';
import { startIssuer, type Issuer } from './issuer-container.js';

export const MAIL_IMAGES = { gateway: 'lcp/mail-gateway:dev', postfix: 'lcp/postfix:dev' };
export const WSDL = 'http://money.com/lcp.wsdl';
export const GATEWAY = 'mx.example.org';
export const MAILSTORE = 'mailstore.example.org';
export const STRANGER = 'outside.test';
/** Bob's price for mail from strangers; carol@friends.test is on his allow list. */
export const PRICE = '0.05';
export const MAX_BYTES = 64 * 1024;
const MAILDIR = '/var/mail/vhosts/example.org';

export interface SwaksResult {
  code: number;
  output: string;
}

export class MailWorld {
  money!: Issuer;
  gateway!: Party;
  postfix!: Party;
  stranger!: Party;
  gatewayId = '';
  strangerId = '';
  /** Bob's token for the recipients' interface (the policy holds its SHA-256). */
  readonly bobToken = `lcpm_${randomBytes(32).toString('base64url')}`;

  private constructor(
    readonly world: World,
    readonly work: string,
  ) {}

  static async start(runName: string): Promise<MailWorld> {
    const world = await World.create(runName);
    const self = new MailWorld(world, await mkdtemp(join(tmpdir(), `lcp-e2e-${runName}-`)));
    try {
      await self.#startAll();
      return self;
    } catch (error) {
      await self.close();
      throw error;
    }
  }

  async #startAll(): Promise<void> {
    const { world, work } = this;
    const ca = await createCertificateAuthority(`LCP e2e CA ${world.runName}`);
    this.money = await startIssuer(world, work, ca, 'money.com');

    // the gateway's home: its policy, a certificate for STARTTLS and the CA that signed money.com
    const home = join(work, GATEWAY);
    await mkdir(join(home, 'tls'), { recursive: true });
    const tls = await issueServerCertificate(ca, { hostnames: [GATEWAY] });
    await writeFile(join(home, 'tls', 'cert.pem'), tls.certPem);
    await writeFile(join(home, 'tls', 'key.pem'), tls.keyPem, { mode: 0o600 });
    await writeFile(join(home, 'ca.pem'), ca.certPem);
    const policy = {
      currencies: { [WSDL]: { scale: 2 } },
      recipients: {
        'bob@example.org': {
          prices: { [WSDL]: PRICE },
          allow: ['carol@friends.test'],
          tokenSha256: createHash('sha256').update(this.bobToken, 'utf8').digest('hex'),
        },
      },
    };
    await writeFile(join(home, 'policy.json'), JSON.stringify(policy, null, 2));
    this.gateway = await world.start({
      image: MAIL_IMAGES.gateway,
      name: GATEWAY,
      data: home,
      env: {
        LCP_MAIL_HOSTNAME: GATEWAY,
        LCP_MAIL_DOMAINS: 'example.org',
        LCP_MAIL_DOWNSTREAM: `${MAILSTORE}:25`,
        LCP_MAIL_TLS_CERT: 'tls/cert.pem',
        LCP_MAIL_TLS_KEY: 'tls/key.pem',
        LCP_MAIL_ISSUER_CA: 'ca.pem',
        LCP_MAIL_MAX_BYTES: String(MAX_BYTES),
      },
    });
    this.gatewayId = (await this.gateway.waitForRecord<{ entityId: string }>('mail gateway started')).entityId;
    // a refund is a transfer from the gateway's key, and money.com charges its fee on top: the
    // operator keeps a little float there for the fees
    await this.money.mint(this.gatewayId, '0.10', 'gateway-fee-float');

    // Postfix after the gateway: it resolves the gateway's name to the one address it takes mail from
    this.postfix = await world.start({
      image: MAIL_IMAGES.postfix,
      name: MAILSTORE,
      env: { LCP_POSTFIX_MAILBOXES: 'bob@example.org', LCP_POSTFIX_ACCEPT_FROM: GATEWAY, LCP_POSTFIX_HOSTNAME: MAILSTORE },
    });

    // the stranger: a key of its own, funded at money.com, and the gateway image for its CLI
    const strangerDir = join(work, STRANGER);
    await mkdir(strangerDir, { recursive: true });
    const identity = generateIdentity();
    await saveIdentity(join(strangerDir, 'identity.pem'), identity);
    await writeFile(join(strangerDir, 'ca.pem'), ca.certPem);
    this.strangerId = identity.id;
    this.stranger = await world.start({
      image: MAIL_IMAGES.gateway,
      name: STRANGER,
      data: strangerDir,
      // no gateway here: a process that waits, so the CLI can run beside it
      entrypoint: ['node', '-e', "console.log('stranger ready'); process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1 << 30);"],
      waitForLog: /stranger ready/,
    });
    await this.money.mint(this.strangerId, '1.00', 'fund-stranger');
  }

  /** swaks in the Postfix container, to the gateway; `args` are swaks's own (--from, --to, --header). */
  async swaks(args: string[]): Promise<SwaksResult> {
    const command = ['swaks', '--server', `${GATEWAY}:25`, '--helo', 'client.outside.test', '--timeout', '30', ...args];
    const result = await this.postfix.container.exec(command, { user: 'root' });
    return { code: result.exitCode, output: result.output };
  }

  /** The stranger's `lcp-postage send`, paying as a holder with its own key; returns its output. */
  async sendPaid(args: string[]): Promise<string> {
    return this.stranger.exec([
      'node', 'dist/sender/main.js', 'send', '--server', `${GATEWAY}:25`,
      '--identity', '/data/identity.pem', '--currency', WSDL, '--issuer-ca', '/data/ca.pem', '--state', '/data/money.com.json', '--max', `0.10@${WSDL}`,
      ...args,
    ]);
  }

  /** The messages in bob@example.org's maildir (new/), oldest first. */
  async bobsMailbox(): Promise<string[]> {
    const folder = `${MAILDIR}/bob/new`;
    const list = await this.postfix.container.exec(['sh', '-c', `ls -1 ${folder} 2>/dev/null | sort`], { user: 'root' });
    const names = list.stdout.split('\n').filter(Boolean);
    const messages: string[] = [];
    for (const name of names) messages.push(await this.postfix.exec(['cat', `${folder}/${name}`], { user: 'root' }));
    return messages;
  }

  async waitForMail(count: number, timeoutMs = 30_000): Promise<string[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const messages = await this.bobsMailbox();
      if (messages.length >= count) return messages;
      if (Date.now() > until) throw new Error(`bob@example.org has ${messages.length} messages, expected ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** A request to the recipients' interface, which listens on 127.0.0.1 in the gateway's container. */
  async recipientsApi(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const script = [
      'const [url, method, token, body] = process.argv.slice(1);',
      "const init = { method, headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' } };",
      "if (method === 'POST') init.body = body;",
      'fetch(url, init).then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.json() })));',
    ].join(' ');
    const out = await this.gateway.exec(['node', '-e', script, `http://127.0.0.1:7470${path}`, method, this.bobToken, JSON.stringify(body ?? {})]);
    return JSON.parse(out) as { status: number; body: Record<string, unknown> };
  }

  async close(): Promise<void> {
    await this.world.close();
    await rm(this.work, { recursive: true, force: true });
  }
}

/** The server's reply lines in a swaks transcript ("<-  250 ..." or "<** 550 ..."), without the arrows. */
export const replies = (output: string): string[] =>
  output
    .split('\n')
    .filter((l) => /^<(-|\*\*) /.test(l))
    .map((l) => l.replace(/^<(-|\*\*)\s+/, ''));

/** The reply to the end of DATA (the one after the message). */
export const finalReply = (output: string): string => {
  const lines = replies(output);
  const quit = lines.findIndex((l) => l.startsWith('221'));
  const upTo = quit === -1 ? lines : lines.slice(0, quit);
  return upTo.slice(upTo.findIndex((l) => l.startsWith('354')) + 1).join('\n');
};

/** The `key=value` pairs of the LCP-Postage line of a 550 reply. */
export function postageOffer(reply: string): Record<string, string> {
  const line = /LCP-Postage (.*)$/m.exec(reply)?.[1] ?? '';
  return Object.fromEntries(line.split(';').map((pair) => pair.trim().split('=') as [string, string]).filter(([k, v]) => k && v));
}

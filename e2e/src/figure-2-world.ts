// The parties of the paper's Figure 2 (section 5.2), each in a container of its own under its
// paper name on one Docker network: money.com, bank.com, video.com, Bob (storage node) and Alice
// (agent, storage node, player). A CA made for the run signs money.com, bank.com and video.com;
// holders and peers use self-signed certificates. Everything is set up the way an operator would:
// folders made by each app's own init, commands run in the containers, nothing reached into.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { createApplicationToken, writePolicyDocument } from '@lcp/agent';
import { hashPassword, initBank } from '@lcp/bank';
import { createCertificateAuthority, createHolderCertificate, generateIdentity, issueServerCertificate, saveIdentity, type CertificateAuthority } from '@lcp/crypto';
import { PARTIES } from '@lcp/demo';
import { World, type Party } from './containers.js';
import { SCALE, startIssuer, units, type Issuer } from './issuer-container.js';

export const IMAGES = {
  bank: 'lcp/bank:dev',
  publisher: 'lcp/publisher:dev',
  storageNode: 'lcp/storage-node:dev',
  alice: 'lcp/alice:dev',
};

const wsdlOf = (domain: string) => `http://${domain}/lcp.wsdl`;

export interface Figure2WorldOptions {
  /** Transparent banking: Bob's own key, held by bank.com, is paid in step 3'. */
  transparent?: boolean;
  /** A second issuer, claire.com, whose currency video.com also accepts; Alice holds some. */
  claire?: boolean;
  /** What Alice's policy lets her player spend a day (the paper's seed: 20); the benchmark buys more. */
  perDay?: string;
}

export class Figure2World {
  readonly originals = new Map<string, Buffer>();
  readonly ids: Record<'alice' | 'aliceNode' | 'video' | 'bob' | 'bank', string> = { alice: '', aliceNode: '', video: '', bob: '', bank: '' };
  money!: Issuer;
  claire: Issuer | undefined;
  bank!: Party;
  bob!: Party;
  alice!: Party;
  video!: Party;
  /** Bob's account at money.com: bank.com's key (opaque) or Bob's own (transparent). */
  bobPaidAt = '';
  #playerToken = '';
  #bankTokens = { operator: '', bob: '' };

  private constructor(
    readonly world: World,
    readonly options: Figure2WorldOptions,
    readonly work: string,
    readonly ca: CertificateAuthority,
  ) {}

  static async start(runName: string, options: Figure2WorldOptions = {}): Promise<Figure2World> {
    const world = await World.create(runName);
    const work = await mkdtemp(join(tmpdir(), `lcp-e2e-${runName}-`));
    const self = new Figure2World(world, options, work, await createCertificateAuthority(`LCP e2e CA ${runName}`));
    try {
      await self.#startAll();
      return self;
    } catch (error) {
      await self.close();
      throw error;
    }
  }

  get currencies(): string[] {
    return [wsdlOf('money.com'), ...(this.options.claire ? [wsdlOf('claire.com')] : [])];
  }

  async #folder(name: string): Promise<string> {
    const dir = join(this.work, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'ca.pem'), this.ca.certPem);
    return dir;
  }

  async #startAll(): Promise<void> {
    const { world } = this;

    // money.com (and claire.com): the issuers
    this.money = await startIssuer(world, this.work, this.ca, 'money.com');
    if (this.options.claire) this.claire = await startIssuer(world, this.work, this.ca, 'claire.com');

    // bank.com, made by its own init; steps 5 and 6 happen when Bob's node asks (on-request)
    const bankDir = await this.#folder('bank.com');
    const operatorPassword = randomBytes(12).toString('base64url');
    const { envFile } = await initBank({
      dir: bankDir,
      domain: 'bank.com',
      currencies: this.currencies.map((wsdl) => ({ wsdl, scale: SCALE })),
      ca: this.ca,
      trustFile: join(bankDir, 'ca.pem'),
      settings: {
        LCP_BANK_COLLECT: 'on-request',
        LCP_BANK_SCRYPT_LOG_N: '12',
        LCP_BANK_RECONCILE_INTERVAL_MS: '1000',
        LCP_BANK_OPERATOR_PASSWORD_HASH: await hashPassword(operatorPassword),
      },
    });
    // the folder moves to /data in the container: its paths with it
    const bankEnv = Object.fromEntries(
      Object.entries(parseEnv(await readFile(envFile, 'utf8')) as Record<string, string>).map(([k, v]) => [k, v.replaceAll(bankDir, '/data')]),
    );
    this.bank = await world.start({ image: IMAGES.bank, name: 'bank.com', data: bankDir, env: bankEnv, ports: [443] });
    const bankCli = (...args: string[]) => this.bank.exec(['node', 'dist/main.js', ...args]);
    const bobPassword = randomBytes(12).toString('base64url');
    if (this.options.transparent) await this.#signUpAtBank('bob', bobPassword, 'transparent');
    else await this.bank.exec(['sh', '-c', `echo ${bobPassword} | node dist/main.js add-customer bob`]);
    const bobNodeToken = await bankCli('create-token', 'bob', '--label', "Bob's storage node", '--scope', 'payments:read');
    this.#bankTokens.bob = await bankCli('create-token', 'bob', '--label', 'e2e balances', '--scope', 'balances:read');
    this.#bankTokens.operator = await bankCli('create-token', 'operator', '--label', 'e2e reconciliation', '--scope', 'operator');

    // Bob's storage node, paid at bank.com
    const bobDir = await this.#folder('bob');
    const bobIdentity = generateIdentity();
    await saveIdentity(join(bobDir, 'identity.pem'), bobIdentity);
    this.ids.bob = bobIdentity.id;
    const storage = (name: string, prices: { contract: string; writePerKb: string; readPerKb: string }) => ({
      LCP_STORAGE_NAME: name,
      LCP_STORAGE_PORT: '8443',
      LCP_STORAGE_PUBLIC_URL: `https://${name}:8443`,
      LCP_STORAGE_CURRENCY_WSDL: wsdlOf('money.com'),
      LCP_STORAGE_ISSUER_CA: '/data/ca.pem',
      LCP_STORAGE_CONTRACT_PRICE: prices.contract,
      LCP_STORAGE_WRITE_PRICE_PER_KB: prices.writePerKb,
      LCP_STORAGE_READ_PRICE_PER_KB: prices.readPerKb,
    });
    this.bob = await world.start({
      image: IMAGES.storageNode,
      name: 'bob',
      data: bobDir,
      env: {
        ...storage('bob', PARTIES.bob),
        LCP_STORAGE_PAYEE: 'bank',
        LCP_STORAGE_BANK_NAME: 'bob@bank.com',
        LCP_STORAGE_BANK_URL: 'https://bank.com',
        LCP_STORAGE_BANK_TOKEN: bobNodeToken,
        LCP_STORAGE_BANK_CA: '/data/ca.pem',
      },
    });
    this.bobPaidAt = (await this.bob.waitForRecord<{ payTo: { entityId: string } }>('storage node started')).payTo.entityId;

    // Alice's machine: her agent (her key, her policy) and her storage node, paid through the agent
    const aliceDir = await this.#folder('alice');
    await mkdir(join(aliceDir, 'agent'), { recursive: true });
    await mkdir(join(aliceDir, 'node'), { recursive: true });
    const aliceIdentity = generateIdentity();
    await saveIdentity(join(aliceDir, 'agent', 'identity.pem'), aliceIdentity);
    await writeFile(join(aliceDir, 'agent', 'certificate.pem'), await createHolderCertificate(aliceIdentity));
    this.ids.alice = aliceIdentity.id;
    const aliceNodeIdentity = generateIdentity();
    await saveIdentity(join(aliceDir, 'node', 'identity.pem'), aliceNodeIdentity);
    this.ids.aliceNode = aliceNodeIdentity.id;
    const policyPath = join(aliceDir, 'agent', 'policy.json');
    const limits = { perDay: this.options.perDay ?? PARTIES.alice.perDay, perPurchase: PARTIES.alice.perPurchase };
    writePolicyDocument(policyPath, {
      currencies: Object.fromEntries(this.currencies.map((wsdl) => [wsdl, { scale: SCALE }])),
      accept: this.currencies,
      applications: {
        'media-player': { spending: Object.fromEntries(this.currencies.map((wsdl) => [wsdl, limits])) },
        'storage-node': { spending: {} },
      },
    });
    this.#playerToken = createApplicationToken(policyPath, 'media-player');
    this.alice = await world.start({
      image: IMAGES.alice,
      name: 'alice',
      data: aliceDir,
      env: {
        LCP_AGENT_NAME: 'alice',
        LCP_AGENT_ISSUER_CA: '/data/ca.pem',
        ...storage('alice', PARTIES.alice),
        LCP_STORAGE_PAYEE: 'agent',
        LCP_STORAGE_AGENT_URL: 'http://127.0.0.1:7468',
        LCP_STORAGE_AGENT_TOKEN: createApplicationToken(policyPath, 'storage-node'),
      },
    });

    // video.com: its key and certificate, a catalog naming where each video is stored, working capital
    const videoDir = await this.#folder('video.com');
    await mkdir(join(videoDir, 'tls'), { recursive: true });
    const videoIdentity = generateIdentity();
    await saveIdentity(join(videoDir, 'identity.pem'), videoIdentity);
    this.ids.video = videoIdentity.id;
    const videoTls = await issueServerCertificate(this.ca, { hostnames: ['video.com'], identity: videoIdentity });
    await writeFile(join(videoDir, 'tls', 'cert.pem'), videoTls.certPem);
    await writeFile(join(videoDir, 'tls', 'key.pem'), videoTls.keyPem, { mode: 0o600 });
    const where = { clip: { url: 'https://bob:8443', nodeId: this.ids.bob }, trailer: { url: 'https://alice:8443', nodeId: this.ids.aliceNode } };
    for (const v of PARTIES.video.videos) this.originals.set(v.id, randomBytes(v.kib * 1024));
    for (const [id, bytes] of this.originals) await writeFile(join(videoDir, `${id}.bin`), bytes);
    await writeFile(
      join(videoDir, 'catalog.json'),
      JSON.stringify({
        currencies: this.currencies.map((wsdl) => ({ wsdl, scale: SCALE })),
        videos: PARTIES.video.videos.map((v) => ({
          id: v.id,
          title: v.title,
          file: `${v.id}.bin`,
          prices: Object.fromEntries(this.currencies.map((wsdl) => [wsdl, v.price])),
          peers: [where[v.id as keyof typeof where]],
        })),
      }),
    );
    await this.money.mint(this.ids.video, PARTIES.video.funds, 'working-capital');
    this.video = await world.start({
      image: IMAGES.publisher,
      name: 'video.com',
      data: videoDir,
      env: { LCP_PUBLISHER_DOMAIN: 'video.com', LCP_PUBLISHER_CA: 'ca.pem' },
    });
    await this.video.waitForRecord('catalog placements done', 90_000);
    const placed = this.video.records<{ msg: string }>('msg').filter((r) => r.msg === 'video placed').length;
    if (placed !== PARTIES.video.videos.length) throw new Error(`video.com placed ${placed} videos: see ${this.world.logDir}/video.com.log`);
    if (this.claire) await this.claire.mint(this.ids.alice, '20', 'alice-savings');
  }

  /** Bob signs up at bank.com's web page, as a person would (transparent banking is chosen there). */
  async #signUpAtBank(name: string, password: string, kind: 'opaque' | 'transparent'): Promise<void> {
    const page = await this.bankRequest('GET', '/signup');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    if (!csrf) throw new Error('bank.com: no CSRF field on /signup');
    const form = new URLSearchParams({ _csrf: csrf, name, kind, password, confirm: password }).toString();
    const answer = await this.bankRequest('POST', '/signup', form, { cookie: page.cookie, 'content-type': 'application/x-www-form-urlencoded' });
    if (answer.status !== 303) throw new Error(`bank.com refused the sign-up (${answer.status})`);
  }

  /** An HTTPS request to bank.com through its published port, checked against the run's CA. */
  async bankRequest(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; cookie: string }> {
    return new Promise((resolve, reject) => {
      const request = https.request(
        { host: '127.0.0.1', port: this.bank.mappedPort(443), servername: 'bank.com', ca: this.ca.certPem, method, path, headers: { host: 'bank.com', ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              cookie: (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; '),
            }),
          );
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  async bankApi<T>(path: string, token: 'bob' | 'operator'): Promise<T> {
    const answer = await this.bankRequest('GET', `/api${path}`, undefined, { authorization: `Bearer ${this.#bankTokens[token]}` });
    if (answer.status !== 200) throw new Error(`bank.com ${path}: ${answer.status} ${answer.body}`);
    return JSON.parse(answer.body) as T;
  }

  /** Bob's balance at bank.com in money.com dollars, as bank.com's API shows it to him. */
  async bobAtBank(): Promise<bigint> {
    const { balances } = await this.bankApi<{ balances: { currency: string; balance: string }[] }>('/v1/balances', 'bob');
    return units(balances.find((b) => b.currency === wsdlOf('money.com'))?.balance ?? '0');
  }

  /** Waits for a reconciliation made after `since` and says whether every holder account matched. */
  async bankReconciles(since: number): Promise<boolean> {
    const until = Date.now() + 30_000;
    for (;;) {
      const report = await this.bankApi<{ at: string; ledger: { balanced: boolean }; holders: { status: string }[] }>('/v1/operator/reconciliation', 'operator');
      if (Date.parse(report.at) > since) {
        if (report.ledger.balanced && report.holders.every((h) => h.status === 'ok')) return true;
      }
      if (Date.now() > until) return false;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /**
   * Alice asks her media player for a video. It runs in her container: negotiate with video.com
   * (1), pay through her agent (2), wait for the retrieval instructions (4'), retrieve (7).
   * Resolves with what the player printed; `onLine` sees each line as it comes.
   */
  async watch(videoId: string, traceparent: string, currency = wsdlOf('money.com'), onLine?: (line: string) => void): Promise<{ output: string; sha256: string }> {
    const out = `/data/${videoId}-${Date.now()}.bin`;
    const command = [
      'node', 'dist/main.js',
      '--publisher', 'https://video.com', '--video', videoId, '--currency', currency,
      '--token', this.#playerToken, '--cert', '/data/agent/certificate.pem', '--key', '/data/agent/identity.pem',
      '--ca', '/data/ca.pem', '--out', out, '--traceparent', traceparent,
    ];
    const result = await this.alice.container.exec(command, { user: 'node' });
    for (const line of result.output.split(/[\r\n]+/)) onLine?.(line);
    if (result.exitCode !== 0) throw new Error(`Alice's player exited ${result.exitCode}:\n${result.output}`);
    const sha256 = (await this.alice.exec(['sha256sum', out])).split(' ')[0] ?? '';
    return { output: result.output, sha256 };
  }

  sha256Of(videoId: string): string {
    return createHash('sha256').update(this.originals.get(videoId) ?? Buffer.alloc(0)).digest('hex');
  }

  async close(): Promise<void> {
    await this.world.close();
    await rm(this.work, { recursive: true, force: true });
  }
}

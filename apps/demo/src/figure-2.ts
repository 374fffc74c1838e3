// The paper's Figure 2 (section 5.2), for real, on one machine: money.com, bank.com, video.com,
// Bob's storage node and Alice's agent, storage node and player, each started through the same
// startX() its app's main.ts calls, in a process of its own (the demo) or all in this one (the
// tests), on loopback with the paper's names and a demo CA. Every step is recorded by the
// services themselves (W3C trace context), and the diagram is drawn from that.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loopbackLookup as lookup } from '@lcp/client';
import { createCertificateAuthority, generateIdentity, issueServerCertificate, saveIdentity } from '@lcp/crypto';
import { childTraceparent, formatAmount, parseAmount, type TraceEvent } from '@lcp/protocol';
import { initCurrency } from '@lcp/issuer';
import { initBank } from '@lcp/bank';
import { AgentClient, createApplicationToken, writePolicyDocument } from '@lcp/agent';
import { buyVideo, type BuyProgress } from '@lcp/player';
import { FEE_ACCOUNT } from '@lcp/issuer-core';
import { inProcess, ownProcess, type PartyHost } from './party-host.js';
import type { PartySpec } from './party-kinds.js';
import { dim, Narrator } from './narrator.js';
import { PARTIES } from './parties.js';
import { figure2Arrows, FIGURE_2_ORDER, type Figure2Arrow } from './figure-2-trace.js';
import { toMermaid, toSvg } from './sequence-diagram.js';

export interface Figure2Options {
  /** Transparent banking: Bob's own key is paid in step 3', without userid. */
  transparent?: boolean;
  /** Where the parties run: this process (default, tests) or a process each (the demo). */
  host?: PartyHost;
  /** Where to write figure-2.mmd and figure-2.svg; not written when absent. */
  diagramDir?: string;
  out?: (line: string) => void;
}

export interface Figure2Result {
  delivered: boolean;
  /** Balances at money.com by party, before and after the flow. */
  before: Record<string, bigint>;
  after: Record<string, bigint>;
  /** Bob's sub-account at bank.com (opaque banking), before and after. */
  bobAtBank: { before: bigint; after: bigint };
  /** The fee money.com charged Alice in step 2. */
  aliceFee: bigint;
  sum: bigint;
  reconciled: boolean;
  steps: string[];
  arrows: Figure2Arrow[];
}

const SCALE = PARTIES.money.scale;
const units = (decimal: string): bigint => {
  const parsed = parseAmount(decimal, SCALE);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
};

export async function runFigure2(options: Figure2Options = {}): Promise<Figure2Result> {
  const out = options.out ?? console.log;
  const story = new Narrator(SCALE, out);
  const work = await mkdtemp(join(tmpdir(), 'lcp-figure-2-'));
  const closers: Array<() => Promise<unknown>> = [];
  const events: TraceEvent[] = [];
  const record = (event: TraceEvent) => events.push(event);
  try {
    story.title(`LCP Stack: the paper's Figure 2 (section 5.2)${options.transparent ? ', with transparent banking' : ''}.`);
    const ca = await createCertificateAuthority('LCP demo CA');
    const caPath = join(work, 'ca.pem');
    await writeFile(caPath, ca.certPem);

    // money.com: the issuer everyone uses
    await initCurrency({
      dir: join(work, 'money.com'),
      domain: PARTIES.money.domain,
      ca,
      settings: { LCP_HOST: '127.0.0.1', LCP_HTTPS_PORT: '0', LCP_HTTP_PORT: '0', LCP_PUBLIC_URL: 'https://money.com:0/lcp' },
    });
    const host = options.host ?? inProcess;
    const start = async (name: string, spec: PartySpec) => {
      const party = await host(name, spec, record);
      closers.unshift(() => party.close());
      return party;
    };
    const money = await start('money.com', { kind: 'issuer', path: join(work, 'money.com') });
    const wsdlUrl = money.info.wsdlUrl as string;
    const currency = { wsdl: wsdlUrl, scale: SCALE };

    // bank.com, with Bob as a customer and a token that lets his storage node see payments
    const { envFile } = await initBank({
      dir: join(work, 'bank.com'),
      domain: PARTIES.bank.domain,
      currencies: [currency],
      ca,
      trustFile: caPath,
      // on-request: the bank asks money.com when Bob's node asks it (steps 5 and 6), as in the paper
      settings: { LCP_BANK_HOST: '127.0.0.1', LCP_BANK_PORT: '0', LCP_BANK_LOG_LEVEL: 'warn', LCP_BANK_SCRYPT_LOG_N: '12', LCP_BANK_COLLECT: 'on-request' },
    });
    const bank = await start('bank.com', { kind: 'bank', path: envFile });
    const { token: bobToken } = await bank.call<{ token: string }>(
      'signUp',
      PARTIES.bob.name,
      randomBytes(12).toString('base64url'),
      options.transparent ?? false,
    );

    // Bob's storage node, paid at bank.com (step 5 asks the bank)
    const bobNode = await start('bob', {
      kind: 'storage-node',
      env: {
        LCP_STORAGE_HOME: join(work, 'bob'),
        LCP_STORAGE_NAME: 'bob',
        LCP_STORAGE_HOST: '127.0.0.1',
        LCP_STORAGE_PORT: '0',
        LCP_STORAGE_PUBLIC_URL: 'https://bob:0',
        LCP_STORAGE_CURRENCY_WSDL: wsdlUrl,
        LCP_STORAGE_ISSUER_CA: caPath,
        LCP_STORAGE_CONTRACT_PRICE: PARTIES.bob.contract,
        LCP_STORAGE_WRITE_PRICE_PER_KB: PARTIES.bob.writePerKb,
        LCP_STORAGE_READ_PRICE_PER_KB: PARTIES.bob.readPerKb,
        LCP_STORAGE_PAYEE: 'bank',
        LCP_STORAGE_BANK_NAME: bank.info.nameOfBob as string,
        LCP_STORAGE_BANK_URL: bank.info.url as string,
        LCP_STORAGE_BANK_TOKEN: bobToken,
        LCP_STORAGE_BANK_CA: caPath,
        LCP_STORAGE_LOG_LEVEL: 'warn',
      },
    });

    // Alice: her local agent (holding her key and her spending policy) and her storage node
    const aliceHome = join(work, 'alice');
    await mkdir(aliceHome, { recursive: true, mode: 0o700 });
    const policyPath = join(aliceHome, 'policy.json');
    writePolicyDocument(policyPath, {
      currencies: { [wsdlUrl]: { scale: SCALE } },
      accept: [wsdlUrl],
      applications: {
        'media-player': { spending: { [wsdlUrl]: { perDay: PARTIES.alice.perDay, perPurchase: PARTIES.alice.perPurchase } } },
        'storage-node': { spending: {} },
      },
    });
    const playerToken = createApplicationToken(policyPath, 'media-player');
    const nodeToken = createApplicationToken(policyPath, 'storage-node');
    const agent = await start('alice', {
      kind: 'agent',
      env: {
        LCP_AGENT_HOME: aliceHome,
        LCP_AGENT_NAME: 'alice',
        LCP_AGENT_PORT: '0',
        LCP_AGENT_ISSUER_CA: caPath,
        LCP_AGENT_LOG_LEVEL: 'warn',
      },
    });
    const aliceNode = await start('alice-node', {
      kind: 'storage-node',
      env: {
        LCP_STORAGE_HOME: join(work, 'alice-node'),
        LCP_STORAGE_NAME: 'alice',
        LCP_STORAGE_HOST: '127.0.0.1',
        LCP_STORAGE_PORT: '0',
        LCP_STORAGE_PUBLIC_URL: 'https://alice:0',
        LCP_STORAGE_CURRENCY_WSDL: wsdlUrl,
        LCP_STORAGE_ISSUER_CA: caPath,
        LCP_STORAGE_CONTRACT_PRICE: PARTIES.alice.contract,
        LCP_STORAGE_WRITE_PRICE_PER_KB: PARTIES.alice.writePerKb,
        LCP_STORAGE_READ_PRICE_PER_KB: PARTIES.alice.readPerKb,
        LCP_STORAGE_PAYEE: 'agent',
        LCP_STORAGE_AGENT_URL: agent.info.url as string,
        LCP_STORAGE_AGENT_TOKEN: nodeToken,
        LCP_STORAGE_LOG_LEVEL: 'warn',
      },
    });

    // video.com: a certificate naming its own key, a catalog, working capital
    const videoHome = join(work, 'video.com');
    await mkdir(join(videoHome, 'tls'), { recursive: true });
    const videoIdentity = generateIdentity();
    await saveIdentity(join(videoHome, 'identity.pem'), videoIdentity);
    const videoTls = await issueServerCertificate(ca, { hostnames: [PARTIES.video.domain], identity: videoIdentity });
    await writeFile(join(videoHome, 'tls', 'cert.pem'), videoTls.certPem);
    await writeFile(join(videoHome, 'tls', 'key.pem'), videoTls.keyPem, { mode: 0o600 });
    await writeFile(join(videoHome, 'ca.pem'), ca.certPem);
    const originals = new Map<string, Buffer>();
    for (const v of PARTIES.video.videos) {
      const bytes = randomBytes(v.kib * 1024);
      originals.set(v.id, bytes);
      await writeFile(join(videoHome, `${v.id}.bin`), bytes);
    }
    await writeFile(
      join(videoHome, 'catalog.json'),
      JSON.stringify({
        currencies: [currency],
        videos: PARTIES.video.videos.map((v) => ({ id: v.id, title: v.title, file: `${v.id}.bin`, prices: { [wsdlUrl]: v.price } })),
      }),
    );
    const video = await start('video.com', {
      kind: 'publisher',
      env: {
        LCP_PUBLISHER_HOME: videoHome,
        LCP_PUBLISHER_DOMAIN: PARTIES.video.domain,
        LCP_PUBLISHER_HOST: '127.0.0.1',
        LCP_PUBLISHER_PORT: '0',
        LCP_PUBLISHER_PUBLIC_URL: 'https://video.com:0',
        LCP_PUBLISHER_CA: 'ca.pem',
        LCP_PUBLISHER_LOG_LEVEL: 'warn',
      },
    });
    const [videoUrl, videoId, bobUrl, bobId, aliceUrl, aliceId] = [
      video.info.url, video.info.entityId, bobNode.info.url, bobNode.info.nodeId, aliceNode.info.url, aliceNode.info.nodeId,
    ] as string[];

    const names = new Map<string, string>([
      [agent.info.entityId as string, 'Alice'],
      [videoId as string, 'video.com'],
      [bank.info.entityId as string, 'bank.com'],
      [bobId as string, 'Bob'],
      [bobNode.info.payTo as string, options.transparent ? 'Bob' : 'bank.com'],
      [money.info.treasury as string, 'money.com (treasury)'],
      [FEE_ACCOUNT, 'money.com (fees)'],
    ]);
    const accounts = async (): Promise<Record<string, bigint>> => {
      const result: Record<string, bigint> = {};
      for (const [id, name] of names) result[name] = await money.call<bigint>('balance', id);
      return result;
    };
    const bobAtBank = () => bank.call<bigint>('balanceOf', PARTIES.bob.name);
    const showBalances = async () => {
      story.balances(Object.entries(await accounts()));
      if (!options.transparent) story.note(`    Bob's sub-account at bank.com: ${formatAmount(await bobAtBank(), SCALE)}`);
    };

    story.note(`money.com ${money.info.serviceUrl}   bank.com ${bank.info.url}   video.com ${videoUrl}`);
    story.note(`Bob's storage node ${bobUrl} (paid as ${options.transparent ? 'his own key, at bank.com' : bank.info.nameOfBob})`);
    story.note(`Alice's agent ${agent.info.url} (local only), her storage node ${aliceUrl}`);
    story.note(options.host === ownProcess ? 'Each party runs in a process of its own.' : 'The parties run in this process.');
    story.note('Names resolve to 127.0.0.1; a demo CA made for this run signs money.com, bank.com and video.com.');

    story.title('Before the flow');
    await money.call('mint', videoId, units(PARTIES.video.funds), 'working-capital');
    story.note(`money.com issues ${PARTIES.video.funds} to video.com.`);
    await video.call('placeVideo', 'clip', bobUrl, bobId);
    story.note(`video.com buys a basic storage contract from Bob and stores "clip" there (pays contract and write prices).`);
    await video.call('placeVideo', 'trailer', aliceUrl, aliceId);
    story.note(`video.com buys a contract from Alice's node and stores "trailer": Alice earns money.com dollars.`);
    await showBalances();

    story.title('The flow: Alice watches "clip"');
    const before = await accounts();
    const bobBefore = await bobAtBank();
    let aliceFee = 0n;
    const downloads: number[] = [];
    const traceparent = childTraceparent();
    const traceId = traceparent.split('-')[1];
    const alice = {
      certPem: await readFile(agent.info.certificatePath as string, 'utf8'),
      keyPem: await readFile(agent.info.identityKeyPath as string, 'utf8'),
    };
    const bought = await buyVideo({
      publisher: videoUrl as string,
      videoId: 'clip',
      currency: wsdlUrl,
      agent: new AgentClient({ url: agent.info.url as string, token: playerToken }),
      credentials: alice,
      caPem: ca.certPem,
      lookup,
      traceparent,
      onProgress: (p: BuyProgress) => {
        if (p.step === '1') story.note(`(1) Alice ↔ video.com: price ${p.price}, pay ${p.payee.slice(0, 12)}…, transactionId ${p.transactionId}`);
        if (p.step === '2') {
          aliceFee = units(p.fee);
          story.note(`(2) Alice's agent → money.com: transferFunds ${p.result}, fee ${p.fee}`);
        }
        if (p.step === "4'") story.note(`(4') video.com → Alice: retrieval instructions for ${p.size} bytes at ${p.url}`);
        if (p.step === 'download') downloads.push(p.received);
        if (p.step === '7') story.note(`(7) Alice → Bob: ${p.bytes} bytes in ${downloads.length} pieces, sha256 ${p.sha256.slice(0, 16)}… checked`);
      },
    });
    const delivered = bought.bytes.equals(originals.get('clip') as Buffer);
    // Bob records step 7 when his response has closed, which can be just after Alice has the
    // bytes (and, with Bob in a process of his own, reaches here over IPC): up to 5 s on a busy machine
    for (let tries = 0; tries < 500 && !events.some((e) => e.traceId === traceId && (e as { step?: string }).step === '7'); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    story.note(`Alice's bytes equal the original: ${delivered} (sha256 ${createHash('sha256').update(bought.bytes).digest('hex').slice(0, 16)}…)`);

    // what the services recorded, in the order they recorded it
    const arrows = figure2Arrows(
      events.filter((e) => e.traceId === traceId),
      names,
    );
    story.title('What the services recorded (W3C trace context), in order');
    for (const a of arrows) story.note(`${a.step.padEnd(4)} ${a.from} → ${a.to}: ${a.label}\n         ${dim(a.code)}`);
    await showBalances();

    const reconciled = await bank.call<boolean>('reconciled');
    const totals = await money.call<{ sum: bigint }>('totals');
    story.note(`bank.com reconciles with money.com: ${reconciled}. Sum of all balances at money.com: ${totals.sum}.`);

    const participants = ['Alice', 'video.com', 'money.com', 'Bob', 'bank.com'];
    if (options.diagramDir) {
      await mkdir(options.diagramDir, { recursive: true });
      const drawn = arrows.map((a) => ({ from: a.from, to: a.to, label: `${a.step} ${a.label}` }));
      await writeFile(join(options.diagramDir, 'figure-2.mmd'), toMermaid(participants, drawn));
      await writeFile(join(options.diagramDir, 'figure-2.svg'), toSvg(participants, drawn));
      story.note(`Sequence diagram of this run: ${join(options.diagramDir, 'figure-2.svg')} (and .mmd)`);
    }
    const steps = arrows.map((a) => a.step);
    const inOrder = JSON.stringify(steps) === JSON.stringify(FIGURE_2_ORDER);
    story.title(
      delivered && totals.sum === 0n && reconciled && inOrder
        ? 'Done: Figure 2 happened, in the paper\'s order, with the exact bytes and every balance exact.'
        : `Something differed: delivered ${delivered}, sum ${totals.sum}, reconciled ${reconciled}, order ${steps.join(' ')}`,
    );
    return {
      delivered,
      before,
      after: await accounts(),
      bobAtBank: { before: bobBefore, after: await bobAtBank() },
      aliceFee,
      sum: totals.sum,
      reconciled,
      steps,
      arrows,
    };
  } finally {
    for (const close of closers) await close().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

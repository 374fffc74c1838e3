// Shared by the publisher's tests: money.com, one or more storage nodes paid at the issuer,
// and video.com with a one-video catalog, all on loopback with a demo CA.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IssuerClient, loopbackLookup } from '@lcp/client';
import {
  createCertificateAuthority,
  createHolderCertificate,
  generateIdentity,
  issueServerCertificate,
  privateKeyPem,
  saveIdentity,
  type CertificateAuthority,
} from '@lcp/crypto';
import { initCurrency, loadCurrency, startIssuer, type RunningIssuer } from '@lcp/issuer';
import { parseConfig as storageConfig, startStorageNode, type RunningStorageNode } from '@lcp/storage-node';
import { pino } from 'pino';
import { startPublisher, type RunningPublisher } from './app.js';
import { parseConfig } from './config.js';

const silent = pino({ level: 'silent' });

export interface World {
  dir: string;
  ca: CertificateAuthority;
  caPath: string;
  money: RunningIssuer;
  video: RunningPublisher;
  videoBytes: Buffer;
  nodes: RunningStorageNode[];
  stop(): Promise<void>;
}

export async function startWorld(nodeCount = 1): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'lcp-publisher-'));
  const ca = await createCertificateAuthority('LCP test CA');
  const caPath = join(dir, 'ca.pem');
  await writeFile(caPath, ca.certPem);

  await initCurrency({
    dir: join(dir, 'money.com'),
    domain: 'money.com',
    ca,
    settings: { LCP_HOST: '127.0.0.1', LCP_HTTPS_PORT: '0', LCP_HTTP_PORT: '0', LCP_PUBLIC_URL: 'https://money.com:0/lcp', LCP_LOG_LEVEL: 'silent' },
  });
  const money = await startIssuer(await loadCurrency(join(dir, 'money.com')), { logger: silent });

  const nodes: RunningStorageNode[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const name = `peer${i}`;
    const node = await startStorageNode(
      storageConfig({
        LCP_STORAGE_HOME: join(dir, name),
        LCP_STORAGE_NAME: name,
        LCP_STORAGE_HOST: '127.0.0.1',
        LCP_STORAGE_PORT: '0',
        LCP_STORAGE_PUBLIC_URL: `https://${name}:0`,
        LCP_STORAGE_CURRENCY_WSDL: money.wsdlUrl,
        LCP_STORAGE_ISSUER_CA: caPath,
        LCP_STORAGE_CONTRACT_PRICE: '10',
        LCP_STORAGE_WRITE_PRICE_PER_KB: '0.01',
        LCP_STORAGE_READ_PRICE_PER_KB: '0.02',
        LCP_STORAGE_PAYMENT_WAIT_MS: '5000',
        LCP_STORAGE_LOG_LEVEL: 'silent',
      }),
      { lookup: loopbackLookup, logger: silent },
    );
    nodes.push(node);
  }

  const home = join(dir, 'video.com');
  await mkdir(join(home, 'tls'), { recursive: true });
  const identity = generateIdentity();
  await saveIdentity(join(home, 'identity.pem'), identity);
  const tls = await issueServerCertificate(ca, { hostnames: ['video.com'], identity });
  await writeFile(join(home, 'tls', 'cert.pem'), tls.certPem);
  await writeFile(join(home, 'tls', 'key.pem'), tls.keyPem, { mode: 0o600 });
  const videoBytes = randomBytes(150 * 1024);
  await writeFile(join(home, 'clip.bin'), videoBytes);
  await writeFile(
    join(home, 'catalog.json'),
    JSON.stringify({
      currencies: [{ wsdl: money.wsdlUrl, scale: 2 }],
      videos: [{ id: 'clip', title: 'A clip', file: 'clip.bin', prices: { [money.wsdlUrl]: '25' } }],
    }),
  );
  await writeFile(join(home, 'ca.pem'), ca.certPem);
  const video = await startPublisher(
    parseConfig({
      LCP_PUBLISHER_HOME: home,
      LCP_PUBLISHER_DOMAIN: 'video.com',
      LCP_PUBLISHER_HOST: '127.0.0.1',
      LCP_PUBLISHER_PORT: '0',
      LCP_PUBLISHER_PUBLIC_URL: 'https://video.com:0',
      LCP_PUBLISHER_CA: 'ca.pem',
      LCP_PUBLISHER_PAYMENT_WAIT_MS: '5000',
      LCP_PUBLISHER_LOG_LEVEL: 'silent',
    }),
    { lookup: loopbackLookup, logger: silent },
  );
  await money.ledger.mint(video.entityId as never, 1000_00n, 'fund-video.com');

  return {
    dir,
    ca,
    caPath,
    money,
    video,
    videoBytes,
    nodes,
    async stop() {
      await video.close();
      await Promise.allSettled(nodes.map((n) => n.close()));
      await money.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function newBuyer(world: World, funds: bigint) {
  const identity = generateIdentity();
  const credentials = { certPem: await createHolderCertificate(identity), keyPem: privateKeyPem(identity) };
  await world.money.ledger.mint(identity.id as never, funds, `fund-${identity.id}`);
  const client = await IssuerClient.connect({ wsdlUrl: world.money.wsdlUrl, credentials, caPem: world.ca.certPem, lookup: loopbackLookup });
  return { id: identity.id, credentials, client };
}

/** JSON over HTTPS to video.com, trusting the demo CA. */
export async function videoApi(world: World, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      new URL(path, world.video.url),
      {
        method,
        ca: world.ca.certPem,
        lookup: loopbackLookup,
        headers: payload ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text || '{}') as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

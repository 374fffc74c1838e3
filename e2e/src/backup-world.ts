// The archival backup (apps/backup, the paper's section 4) in containers: money.com, six storage
// nodes (peer1…peer6, each paid at its own key at money.com) and the backup client's container,
// which pays from its buyer key's own account at money.com. peer5 and peer6 ask five times the
// write price of the others: the plan leaves them as the reserve that repair falls back on.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, generateIdentity, saveIdentity, type CertificateAuthority } from '@lcp/crypto';
import { World, type Party } from './containers.js';
import { startIssuer, type Issuer } from './issuer-container.js';

export const BACKUP_IMAGES = { storageNode: 'lcp/storage-node:dev', backup: 'lcp/backup:dev' };
const WSDL = 'http://money.com/lcp.wsdl';
/** 8 MiB chunks: fragments of 4 MiB at 2 of 4, so 50 MiB is a few dozen paid writes, not hundreds. */
export const CHUNK_BYTES = 8 * 1024 * 1024;
/** One contract holds everything a peer gets in the run (the default 1 MiB would mean a contract per fragment). */
const CONTRACT_BYTES = 64 * 1024 * 1024;

export interface Peer {
  name: string;
  nodeId: string;
  party: Party;
}

export class BackupWorld {
  readonly peers: Peer[] = [];
  money!: Issuer;
  client!: Party;

  private constructor(
    readonly world: World,
    readonly work: string,
    readonly ca: CertificateAuthority,
  ) {}

  static async start(runName: string): Promise<BackupWorld> {
    const world = await World.create(runName);
    const work = await mkdtemp(join(tmpdir(), `lcp-e2e-${runName}-`));
    const self = new BackupWorld(world, work, await createCertificateAuthority(`LCP e2e CA ${runName}`));
    try {
      await self.#startAll();
      return self;
    } catch (error) {
      await self.close();
      throw error;
    }
  }

  async #folder(name: string): Promise<string> {
    const dir = join(this.work, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'ca.pem'), this.ca.certPem);
    return dir;
  }

  async #startAll(): Promise<void> {
    this.money = await startIssuer(this.world, this.work, this.ca, 'money.com');

    // six peers, their keys made here so that the peer list can pin them (as a user copies a node id)
    const specs = await Promise.all(
      [1, 2, 3, 4, 5, 6].map(async (i) => {
        const name = `peer${i}`;
        const dir = await this.#folder(name);
        const identity = generateIdentity();
        await saveIdentity(join(dir, 'identity.pem'), identity);
        return { name, dir, nodeId: identity.id, writePerKb: i >= 5 ? '0.05' : '0.01' };
      }),
    );
    const parties = await Promise.all(
      specs.map((s) =>
        this.world.start({
          image: BACKUP_IMAGES.storageNode,
          name: s.name,
          data: s.dir,
          // the log line, not the healthcheck: six nodes starting at once on two cores outlast its start period
          waitForLog: /"msg":"storage node started"/,
          env: {
            LCP_STORAGE_NAME: s.name,
            LCP_STORAGE_PORT: '8443',
            LCP_STORAGE_PUBLIC_URL: `https://${s.name}:8443`,
            LCP_STORAGE_CURRENCY_WSDL: WSDL,
            LCP_STORAGE_ISSUER_CA: '/data/ca.pem',
            LCP_STORAGE_PAYEE: 'issuer',
            LCP_STORAGE_CONTRACT_PRICE: '1',
            LCP_STORAGE_WRITE_PRICE_PER_KB: s.writePerKb,
            LCP_STORAGE_READ_PRICE_PER_KB: '0.02',
            LCP_STORAGE_CONTRACT_BYTES: String(CONTRACT_BYTES),
          },
        }),
      ),
    );
    specs.forEach((s, i) => this.peers.push({ name: s.name, nodeId: s.nodeId, party: parties[i] as Party }));

    // the backup client: the peer list is configuration (URL + node id), the issuer's CA its trust anchor
    const clientDir = await this.#folder('backup');
    this.client = await this.world.start({
      image: BACKUP_IMAGES.backup,
      name: 'backup',
      data: clientDir,
      env: {
        LCP_BACKUP_PEERS: JSON.stringify(this.peers.map((p) => ({ name: p.name, url: `https://${p.name}:8443`, nodeId: p.nodeId }))),
        LCP_BACKUP_CURRENCY_WSDL: WSDL,
        LCP_BACKUP_PAYER: 'issuer',
        LCP_BACKUP_ISSUER_CA: '/data/ca.pem',
        LCP_BACKUP_CHUNK_BYTES: String(CHUNK_BYTES),
        LCP_BACKUP_CONCURRENCY: '4',
      },
    });
  }

  peer(name: string): Peer {
    const peer = this.peers.find((p) => p.name === name);
    if (!peer) throw new Error(`no peer ${name}`);
    return peer;
  }

  /** `lcp-backup <args>` in the client's container; its output. */
  async backup(...args: string[]): Promise<string> {
    return this.client.exec(['lcp-backup', ...args]);
  }

  /** path → sha256 of every file under `dir` in the client's container. */
  async digests(dir: string): Promise<Map<string, string>> {
    const out = await this.client.exec(['sh', '-c', `cd '${dir}' && find . -type f | sort | xargs sha256sum`]);
    return new Map(
      out
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [sum, path] = line.split(/\s+/);
          return [path ?? '', sum ?? ''];
        }),
    );
  }

  /**
   * A peer that silently alters what it holds: as root in its container, flips one byte in every
   * 512 of every stored object, and its last byte (content/<contractId>/<file>, apps/storage-node's
   * content-store.ts), so that whichever block an audit challenges (a random range of at least
   * 1 KB, or an object's tail) is altered. Returns how many objects it altered.
   */
  async corrupt(peer: Peer): Promise<number> {
    const script = `
      const fs = require('node:fs'); const path = require('node:path');
      let count = 0;
      for (const dir of fs.readdirSync('/data/content', { withFileTypes: true })) {
        if (!dir.isDirectory() || dir.name === 'tmp') continue;
        for (const file of fs.readdirSync(path.join('/data/content', dir.name))) {
          const at = path.join('/data/content', dir.name, file);
          const bytes = fs.readFileSync(at);
          if (bytes.length === 0) continue;
          for (let i = 0; i < bytes.length; i += 512) bytes[i] ^= 0xff;
          bytes[bytes.length - 1] ^= 0x5a;
          fs.writeFileSync(at, bytes);
          count++;
        }
      }
      console.log(count);`;
    return Number(await peer.party.exec(['node', '-e', script], { user: 'root' }));
  }

  async close(): Promise<void> {
    await this.world.close();
    await rm(this.work, { recursive: true, force: true });
  }
}

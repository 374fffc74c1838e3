// startBackup(config): the backup client in-process (the CLI, the tests and the bench all go
// through here). It derives the keys from the secret, reads the peer list, connects the payer
// and loads the catalog; close() releases the connections.
import { readFile } from 'node:fs/promises';
import type { LookupFunction } from 'node:net';
import { join } from 'node:path';
import { createHolderCertificate, privateKeyPem } from '@lcp/crypto';
import { BackupClient } from './backup-client.js';
import { loadCatalog } from './catalog.js';
import type { BackupConfig } from './config.js';
import { ConfigError } from './config.js';
import { AgentPayer, BankPayer, IssuerPayer, type Payer } from './payer.js';
import { Peer, peerListSchema, type PeerConfig } from './peers.js';
import type { Output } from './progress.js';
import { deriveKeys, newSecretKey, parseSecret } from './secret.js';
import { Spending } from './spending.js';

export interface BackupOptions {
  /** Progress, plans and tables go here (default: stdout). */
  out?: Output;
  /** Name resolution override (tests and the demo resolve the paper's names to loopback). */
  lookup?: LookupFunction;
  /** Pays instead of the payer config.payer selects. */
  payer?: Payer;
  /** The secret, when none is configured: `init` makes a new one. */
  secret?: string;
  /** The clock (tests move it to a contract's end). */
  now?: () => number;
}

export interface RunningBackup {
  client: BackupClient;
  /** The secret's key part was made now (init of a new backup): nothing keeps it yet. */
  fresh: boolean;
  payer: Payer;
  close(): Promise<void>;
}

export async function loadPeers(source: string): Promise<PeerConfig[]> {
  const text = source.trimStart().startsWith('[') ? source : await readFile(source, 'utf8').catch(() => {
    throw new ConfigError(`LCP_BACKUP_PEERS: cannot read the peer list ${source}`);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError('LCP_BACKUP_PEERS: the peer list is not JSON');
  }
  const parsed = peerListSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(`LCP_BACKUP_PEERS: ${parsed.error.issues[0]?.message ?? 'invalid peer list'}`);
  return parsed.data;
}

/** The secret and where it came from: given (a new machine), kept in this folder, or none yet. */
async function readSecret(config: Readonly<BackupConfig>, options: BackupOptions): Promise<{ secret: string; origin: 'given' | 'kept' } | undefined> {
  const given = options.secret ?? config.secret;
  if (given) return { secret: given, origin: 'given' };
  try {
    return { secret: (await readFile(config.secretPath, 'utf8')).trim(), origin: 'kept' };
  } catch {
    return undefined;
  }
}

export async function startBackup(config: Readonly<BackupConfig>, options: BackupOptions = {}): Promise<RunningBackup> {
  const peerList = await loadPeers(config.peers);
  const secret = await readSecret(config, options);
  const { key, roots } = secret ? parseSecret(secret.secret) : { key: newSecretKey(), roots: [] };
  const keys = deriveKeys(key);
  const credentials = { certPem: await createHolderCertificate(keys.identity, { commonName: 'lcp-backup' }), keyPem: privateKeyPem(keys.identity) };
  const payer = options.payer ?? (await makePayer(config, credentials, options.lookup));
  const peers = peerList.map((p) => new Peer(p, credentials, options.lookup, options.now));
  const catalog = await loadCatalog(join(config.home, 'catalog.json'));
  const client = new BackupClient(
    {
      home: config.home,
      keys,
      secretKey: key,
      roots,
      origin: secret?.origin ?? 'new',
      ...(options.now ? { now: options.now } : {}),
      peers,
      out: options.out ?? { write: (text) => void process.stdout.write(text), isTTY: process.stdout.isTTY },
      prior: { failures: config.priorFailure * 10, successes: (1 - config.priorFailure) * 10 },
      auditsPerPeer: config.auditsPerPeer,
      concurrency: config.concurrency,
      spending: (settings, spentBefore) => Spending.open(join(config.home, 'statement.jsonl'), payer, settings.currency, settings.budget, spentBefore),
    },
    catalog,
  );
  try {
    await client.ready();
  } catch (error) {
    await client.close();
    await payer.close();
    throw error;
  }
  return {
    client,
    fresh: !secret,
    payer,
    async close() {
      await client.close();
      await payer.close();
    },
  };
}

async function makePayer(config: Readonly<BackupConfig>, credentials: { certPem: string; keyPem: string }, lookup?: LookupFunction): Promise<Payer> {
  const ca = async (path?: string) => (path ? await readFile(path, 'utf8') : undefined);
  switch (config.payer.kind) {
    case 'issuer': {
      const caPem = await ca(config.payer.caPath);
      return new IssuerPayer({ credentials, dir: join(config.home, 'wallet'), ...(caPem ? { caPem } : {}), ...(lookup ? { lookup } : {}) });
    }
    case 'agent':
      return new AgentPayer({ url: config.payer.url, token: config.payer.token });
    case 'bank': {
      const caPem = await ca(config.payer.caPath);
      return new BankPayer({ url: config.payer.url, token: config.payer.token, ...(caPem ? { caPem } : {}), ...(lookup ? { lookup } : {}) });
    }
  }
}

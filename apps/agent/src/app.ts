// startAgent(config): the local LCP agent in-process, returning a handle that closes it.
// main.ts, the tests and the demo all start the agent through here.
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { Wallet } from '@lcp/client';
import type { TraceSink } from '@lcp/protocol';
import { createHolderCertificate, generateIdentity, loadOrCreateIdentity, privateKeyPem, type Identity } from '@lcp/crypto';
import { AgentBook } from './agent-book.js';
import { AgentService } from './agent-service.js';
import type { AgentConfig } from './config.js';
import { agentApi } from './http-api.js';
import { createLogger, type Logger } from './logger.js';
import { PolicyFile } from './policy.js';

export interface AgentOptions {
  logger?: Logger;
  /** Name resolution override for issuers (tests and the demo use loopback). */
  lookup?: LookupFunction;
  /** Receives the events of traced requests (those with a W3C traceparent), as the agent saw them. */
  onTrace?: TraceSink;
  /** The clock, for tests of the daily limit. */
  now?: () => number;
}

export interface RunningAgent {
  /** The user's entity id: the key the agent holds. */
  readonly entityId: string;
  /** The local interface, e.g. http://127.0.0.1:7468 */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startAgent(config: Readonly<AgentConfig>, options: AgentOptions = {}): Promise<RunningAgent> {
  const log = options.logger ?? createLogger(config.logLevel);
  await mkdir(config.home, { recursive: true, mode: 0o700 });
  const { identity, created } = await loadOrCreateIdentity(config.identityKeyPath, generateIdentity);
  if (created) log.info({ entityId: identity.id }, 'new identity created');
  const credentials = { certPem: await holderCertificate(config.certificatePath, identity), keyPem: privateKeyPem(identity) };
  const caPem = config.issuerCaPath ? await readFile(config.issuerCaPath, 'utf8') : undefined;

  const policy = new PolicyFile(config.policyPath, (error) => log.error({ err: error }, 'policy file not reloaded; the last good policy stays'));
  const book = new AgentBook(config.databasePath);
  const wallet = new Wallet({
    credentials,
    dir: config.walletDir,
    ...(caPem ? { caPem } : {}),
    ...(options.lookup ? { lookup: options.lookup } : {}),
  });
  const service = new AgentService({
    name: config.name,
    entityId: identity.id,
    wallet,
    book,
    policy,
    maxWaitMs: config.maxWaitMs,
    log,
    ...(options.onTrace ? { onTrace: options.onTrace } : {}),
    ...(options.now ? { now: options.now } : {}),
  });

  const server = http.createServer(agentApi(service, log));
  server.headersTimeout = 10_000;
  server.requestTimeout = config.maxWaitMs + 30_000;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  } catch (error) {
    book.close();
    await wallet.close();
    throw error;
  }
  const url = `http://${config.host}:${port}`;
  log.info({ entityId: identity.id, url, policy: config.policyPath }, 'agent started');

  let closing: Promise<void> | undefined;
  return {
    entityId: identity.id,
    url,
    port,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
        await wallet.close();
        book.close();
        log.info('agent stopped');
      })();
      return closing;
    },
  };
}

/** The user's self-signed holder certificate, made once and kept beside the key. */
async function holderCertificate(path: string, identity: Identity): Promise<string> {
  const existing = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (existing && usable(existing, identity)) return existing;
  const pem = await createHolderCertificate(identity);
  await writeFile(path, pem, { mode: 0o644 });
  return pem;
}

function usable(pem: string, identity: Identity): boolean {
  try {
    const certificate = new X509Certificate(pem);
    return certificate.checkPrivateKey(identity.privateKey) && new Date(certificate.validTo).getTime() > Date.now() + 86_400_000;
  } catch {
    return false;
  }
}

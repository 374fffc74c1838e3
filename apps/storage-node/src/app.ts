// startStorageNode(config): a storage node (Bob, Alice) in-process, returning a handle that
// closes it. main.ts, the tests and the demo all start the node through here.
import { mkdir, readFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo, LookupFunction } from 'node:net';
import { resolve as resolveName, Wallet } from '@lcp/client';
import { createHolderCertificate, generateIdentity, loadOrCreateIdentity, privateKeyPem, serverTlsOptions } from '@lcp/crypto';
import { ConfigError, type StorageNodeConfig } from './config.js';
import { ContentStore } from './content-store.js';
import { storageApi } from './http-api.js';
import { createLogger, type Logger } from './logger.js';
import { AgentPaymentVerifier, agentIdentity } from './payments/agent-payment-verifier.js';
import { BankPaymentVerifier } from './payments/bank-payment-verifier.js';
import { IssuerPaymentVerifier } from './payments/issuer-payment-verifier.js';
import type { PaymentVerifier } from './payments/payment-verifier.js';
import { StorageService } from './storage-service.js';
import { StorageStore } from './store.js';
import type { TraceHook } from './trace.js';
import type { PayTo } from './wire.js';

export interface StorageNodeOptions {
  logger?: Logger;
  /** Sees every trace event (Figure 2 steps 4, 5, 4', 7 and the contract and write events). */
  onTrace?: TraceHook;
  /** Name resolution override for the issuer, the bank and the agent (tests and the demo use loopback). */
  lookup?: LookupFunction;
  /** Checks payments instead of the verifier `config.payee` selects; give `payTo` with it. */
  verifier?: PaymentVerifier;
  payTo?: PayTo;
  /** The clock, for tests of expiry. */
  now?: () => number;
}

export interface RunningStorageNode {
  /** The node's entity id: its TLS key and the key that signs offers, contracts and instructions. */
  readonly nodeId: string;
  /** The node's HTTPS origin with the actual port. */
  readonly url: string;
  readonly port: number;
  /** Where this node's payments go. */
  readonly payTo: PayTo;
  close(): Promise<void>;
}

const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 120_000;

export async function startStorageNode(config: Readonly<StorageNodeConfig>, options: StorageNodeOptions = {}): Promise<RunningStorageNode> {
  const log = options.logger ?? createLogger(config.logLevel).child({ node: config.name });
  await mkdir(config.home, { recursive: true, mode: 0o700 });
  const { identity } = await loadOrCreateIdentity(config.identityKeyPath, generateIdentity);
  // self-signed with the node's own key: clients pin the node by its entity id, not by a CA
  const certPem = await createHolderCertificate(identity, { commonName: config.name });
  const keyPem = privateKeyPem(identity);

  const store = new StorageStore(config.databasePath);
  const closers: (() => unknown)[] = [() => store.close()];
  const server = https.createServer({ ...serverTlsOptions({ certPem, keyPem }), handshakeTimeout: 10_000 });
  try {
    const content = new ContentStore(config.contentDir);
    await mkdir(config.contentDir, { recursive: true, mode: 0o700 });
    await content.open(store.allFiles());

    const payment = await paymentSetup(config, options, { certPem, keyPem, identityId: identity.id, store });
    closers.push(() => payment.close());

    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
    const publicUrl = config.publicUrl.replace(/:0$/, `:${port}`);
    const service = new StorageService({
      config,
      identity,
      store,
      content,
      verifier: payment.verifier,
      payTo: payment.payTo,
      publicUrl,
      log,
      // without a hook (a real deployment), traced requests go to the log: the e2e suite reads them there
      onTrace: options.onTrace ?? ((event) => log.info({ trace: event }, 'traced')),
      ...(options.now ? { now: options.now } : {}),
    });
    server.on('request', storageApi(service, log));
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    log.info({ nodeId: identity.id, url: publicUrl, port, payee: config.payee, payTo: payment.payTo }, 'storage node started');

    let closing: Promise<void> | undefined;
    return {
      nodeId: identity.id,
      url: publicUrl,
      port,
      payTo: payment.payTo,
      close() {
        closing ??= (async () => {
          const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeAllConnections();
          await stopped;
          for (const close of closers.reverse()) await close();
          log.info('storage node stopped');
        })();
        return closing;
      },
    };
  } catch (error) {
    server.close();
    for (const close of closers.reverse()) await close();
    throw error;
  }
}

interface PaymentSetup {
  verifier: PaymentVerifier;
  payTo: PayTo;
  close(): Promise<void>;
}

/** Where payments go and who confirms them, from config.payee (or the options' own verifier). */
async function paymentSetup(
  config: Readonly<StorageNodeConfig>,
  options: StorageNodeOptions,
  own: { certPem: string; keyPem: string; identityId: string; store: StorageStore },
): Promise<PaymentSetup> {
  const lookup = options.lookup ? { lookup: options.lookup } : {};
  const closeVerifier = (verifier: PaymentVerifier) => async () => void (await verifier.close?.());
  if (options.verifier) {
    if (!options.payTo) throw new TypeError('startStorageNode: options.verifier needs options.payTo');
    return { verifier: options.verifier, payTo: options.payTo, close: closeVerifier(options.verifier) };
  }
  switch (config.payee) {
    case 'issuer': {
      // the node is its own LCP holder: payments go to its key, checked with getDeposits
      const caPem = config.issuerCaPath ? await readFile(config.issuerCaPath, 'utf8') : undefined;
      const wallet = new Wallet({ credentials: { certPem: own.certPem, keyPem: own.keyPem }, dir: config.walletDir, ...(caPem ? { caPem } : {}), ...lookup });
      const verifier = new IssuerPaymentVerifier({ client: (c) => wallet.issuer(c.wsdl, { scale: c.scale }), memory: own.store });
      return { verifier, payTo: { entityId: own.identityId }, close: () => wallet.close() };
    }
    case 'agent': {
      // the local LCP agent holds the key that receives payments (the paper's section 5)
      const agent = { url: config.agent.url, token: config.agent.token as string, ...lookup };
      const verifier = new AgentPaymentVerifier(agent);
      return { verifier, payTo: { entityId: await agentIdentity(agent) }, close: closeVerifier(verifier) };
    }
    case 'bank': {
      // opaque banking (section 5.1): payments go to the bank's key with our userid
      const name = config.bank.name as string;
      const domain = name.slice(name.lastIndexOf('@') + 1);
      const bankUrl = new URL(config.bank.url ?? `https://${domain}`);
      const caPem = config.bank.caPath ? await readFile(config.bank.caPath, 'utf8') : undefined;
      const document = await resolveName(name, {
        ...(caPem ? { caPem } : {}),
        ...lookup,
        ...(bankUrl.port ? { port: Number(bankUrl.port) } : {}),
      });
      const account = document.accounts.find((a) => a.wsdl === config.currency.wsdl);
      if (!account) throw new ConfigError(`${name} has no account in the currency at ${config.currency.wsdl}`);
      const verifier = new BankPaymentVerifier({ url: bankUrl.origin, token: config.bank.token as string, ...(caPem ? { caPem } : {}), ...lookup });
      const payTo: PayTo = { entityId: account.entityId, ...(document.userid ? { userid: document.userid } : {}), name };
      return { verifier, payTo, close: closeVerifier(verifier) };
    }
  }
}

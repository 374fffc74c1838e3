// Shared by the storage node's tests: a real money.com issuer on loopback (demo CA, temp
// folder), holders, storage nodes in temp folders, and the Figure 2 actions written as names.
import { mkdtemp } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { IssuerClient, loopbackLookup } from '@lcp/client';
import {
  connectHolder,
  demoCa,
  newHolder,
  startTestIssuer as startSharedIssuer,
  type TestHolder,
  type TestIssuer,
} from '@lcp/issuer/testing';

export { connectHolder, demoCa, newHolder, type TestHolder, type TestIssuer };
import { startStorageNode, type RunningStorageNode, type StorageNodeOptions } from './app.js';
import { parseConfig } from './config.js';
import { StorageNodeClient, StorageNodeProblemError } from './storage-node-client.js';
import type { Contract, RetrievalInstruction } from './wire.js';

export const silent = pino({ level: 'silent' });

/** A currency issuer on loopback ports, without fees so balances read simply. */
export const startTestIssuer = (domain = 'money.com'): Promise<TestIssuer> =>
  startSharedIssuer({ LCP_FEE_RATE_PPM: '0', LCP_FEE_RESUMED_RATE_PPM: '0' }, domain);

/** The node's settings for tests: small quotas, the paper's prices, a short payment wait. */
export const nodeEnv = (t: TestIssuer, home: string, settings: Record<string, string> = {}): Record<string, string> => ({
  LCP_STORAGE_HOME: home,
  LCP_STORAGE_NAME: 'bob',
  LCP_STORAGE_HOST: '127.0.0.1',
  LCP_STORAGE_PORT: '0',
  LCP_STORAGE_PUBLIC_URL: 'https://127.0.0.1:0',
  LCP_STORAGE_CURRENCY_WSDL: t.issuer.wsdlUrl,
  LCP_STORAGE_ISSUER_CA: t.caPath,
  LCP_STORAGE_CONTRACT_PRICE: '10',
  LCP_STORAGE_WRITE_PRICE_PER_KB: '1',
  LCP_STORAGE_READ_PRICE_PER_KB: '4',
  LCP_STORAGE_CONTRACT_BYTES: '4096',
  LCP_STORAGE_CAPACITY_BYTES: '16384',
  LCP_STORAGE_PAYMENT_WAIT_MS: '300',
  LCP_STORAGE_LOG_LEVEL: 'silent',
  ...settings,
});

export async function tempHome(prefix = 'lcp-storage-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function startTestNode(
  t: TestIssuer,
  home: string,
  settings: Record<string, string> = {},
  options: StorageNodeOptions = {},
): Promise<RunningStorageNode> {
  return startStorageNode(parseConfig(nodeEnv(t, home, settings)), { logger: silent, lookup: loopbackLookup, ...options });
}

/** A party of the flow (video.com, Alice): its key, its issuer client, its client for one node. */
export interface Party {
  holder: TestHolder;
  money: IssuerClient;
  node: StorageNodeClient;
  close(): void;
}

export async function party(t: TestIssuer, node: RunningStorageNode, fund = 0n): Promise<Party> {
  const holder = await newHolder();
  if (fund > 0n) await t.issuer.ledger.mint(holder.id as never, fund, `fund-${holder.id}`);
  const money = await connectHolder(t, holder);
  const client = new StorageNodeClient({ url: node.url, nodeId: node.nodeId, credentials: holder });
  return {
    holder,
    money,
    node: client,
    close() {
      money.close();
      client.close();
    },
  };
}

let transactions = 0;
/** A fresh transactionId, as a buyer and the node would agree on one. */
export const txid = (label: string): string => `${label}-${process.pid}-${++transactions}`;

/** Pays the node (where its offer says payments go) `amount` minor units under a new transactionId. */
export async function pay(from: Party, node: RunningStorageNode, amount: bigint, label: string): Promise<string> {
  const transactionId = txid(label);
  const { result } = await from.money.transferFunds({
    recipient: node.payTo.entityId,
    amount,
    transactionId,
    ...(node.payTo.userid ? { userid: node.payTo.userid } : {}),
  });
  if (result !== 'success') throw new Error(`payment ${transactionId} failed: ${result}`);
  return transactionId;
}

/** Figure 2's "before the flow": `buyer` buys a basic storage contract from `node`. */
export async function buyContract(buyer: Party, node: RunningStorageNode): Promise<Contract> {
  const offer = await buyer.node.offer();
  const payment = await pay(buyer, node, 10_00n, 'contract');
  return buyer.node.buyContract({ offerId: offer.offerId, paymentTransactionId: payment });
}

/** ... and stores bytes there: a paid write at 1.00 per started KB. */
export async function store(buyer: Party, node: RunningStorageNode, contract: Contract, objectId: string, bytes: Buffer): Promise<void> {
  const payment = await pay(buyer, node, BigInt(Math.max(1, Math.ceil(bytes.length / 1024))) * 1_00n, 'write');
  await buyer.node.write(contract.contractId, objectId, bytes, payment);
}

/** The problem code a refused call failed with. */
export async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    if (error instanceof StorageNodeProblemError) return error.code;
    throw error;
  }
  throw new Error('expected a refusal');
}

/** GET /retrieve with any header value and any (or no) client certificate: for forged and altered instructions. */
export function rawRetrieve(url: string, header: string | undefined, credentials?: TestHolder): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      `${url}/retrieve`,
      {
        rejectUnauthorized: false,
        agent: false,
        headers: header ? { 'lcp-retrieval': header } : {},
        ...(credentials ? { cert: credentials.certPem, key: credentials.keyPem } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    request.on('error', reject);
  });
}

export const problemCode = (body: Buffer): unknown => (JSON.parse(body.toString('utf8')) as { code?: unknown }).code;

export const header = (instruction: RetrievalInstruction | Record<string, unknown>): string =>
  Buffer.from(JSON.stringify(instruction)).toString('base64url');

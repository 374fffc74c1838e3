// Shared with the tests (test-support.ts re-exports it).
// Real parts on loopback for the tests and the bench: a money.com issuer (@lcp/issuer/testing)
// and storage nodes (startStorageNode) in temp folders, each with its own prices; the peer
// list they make is the same JSON a user would configure.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loopback, type TestIssuer } from '@lcp/issuer/testing';
import { parseConfig as parseNodeConfig, startStorageNode, type RunningStorageNode } from '@lcp/storage-node';

export interface TestNode {
  name: string;
  home: string;
  node: RunningStorageNode;
}

export async function startNodes(
  t: TestIssuer,
  count: number,
  prices: (i: number) => Record<string, string> = () => ({}),
  options: { now?: () => number } = {},
): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (let i = 0; i < count; i++) {
    const name = `peer${i + 1}`;
    const home = await mkdtemp(join(tmpdir(), `lcp-backup-${name}-`));
    const node = await startStorageNode(
      parseNodeConfig({
        LCP_STORAGE_HOME: home,
        LCP_STORAGE_NAME: name,
        LCP_STORAGE_HOST: '127.0.0.1',
        LCP_STORAGE_PORT: '0',
        LCP_STORAGE_PUBLIC_URL: 'https://127.0.0.1:0',
        LCP_STORAGE_CURRENCY_WSDL: t.issuer.wsdlUrl,
        LCP_STORAGE_ISSUER_CA: t.caPath,
        LCP_STORAGE_CONTRACT_PRICE: '1',
        LCP_STORAGE_WRITE_PRICE_PER_KB: '0.01',
        LCP_STORAGE_READ_PRICE_PER_KB: '0.02',
        LCP_STORAGE_CONTRACT_BYTES: String(1024 * 1024),
        LCP_STORAGE_CAPACITY_BYTES: String(1024 * 1024 * 1024),
        LCP_STORAGE_PAYMENT_WAIT_MS: '5000',
        LCP_STORAGE_LOG_LEVEL: 'silent',
        ...prices(i),
      }),
      { logger: pino({ level: 'silent' }), lookup: loopback, ...(options.now ? { now: options.now } : {}) },
    );
    nodes.push({ name, home, node });
  }
  return nodes;
}

export const peerList = (nodes: readonly TestNode[]): string =>
  JSON.stringify(nodes.map((n) => ({ name: n.name, url: n.node.url, nodeId: n.node.nodeId })));


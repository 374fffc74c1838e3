// Shared by the backup's tests and bench: a real money.com issuer on loopback and real storage
// nodes (startStorageNode) in temp folders, each with its own prices; and a backup client
// configured with them as its peer list, paying from the buyer key's own account.
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { loopback, startTestIssuer, type TestIssuer } from '@lcp/issuer/testing';
import { peerList, type TestNode } from './bench/local-network.js';
import { startBackup, type BackupOptions, type RunningBackup } from './app.js';
import { parseConfig } from './config.js';
import type { Output } from './progress.js';

export { loopback, startTestIssuer, type TestIssuer };
export { peerList, startNodes, type TestNode } from './bench/local-network.js';

/** Output kept in memory (not a terminal: plain progress lines). */
export function recorder(): Output & { text(): string } {
  const parts: string[] = [];
  return { write: (text) => void parts.push(text), isTTY: false, text: () => parts.join('') };
}

export async function startClient(
  t: TestIssuer,
  nodes: readonly TestNode[],
  home: string,
  settings: Record<string, string> = {},
  out: Output = recorder(),
  options: Pick<BackupOptions, 'now'> = {},
): Promise<RunningBackup> {
  const config = parseConfig({
    LCP_BACKUP_HOME: home,
    LCP_BACKUP_PEERS: peerList(nodes),
    LCP_BACKUP_CURRENCY_WSDL: t.issuer.wsdlUrl,
    LCP_BACKUP_PAYER: 'issuer',
    LCP_BACKUP_ISSUER_CA: t.caPath,
    ...settings,
  });
  return startBackup(config, { lookup: loopback, out, ...options });
}

/** path → sha256 of every file under dir. */
export async function digestTree(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const visit = async (path: string): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await visit(full);
      else result[relative(dir, full)] = createHash('sha256').update(await readFile(full)).digest('hex');
    }
  };
  await visit(dir);
  return result;
}

/**
 * A peer that corrupts what it holds: flips one byte in every 512 of every stored object (and
 * its last byte), so that any block an audit may challenge (at least 1 KB, or an object's
 * tail) is altered. Returns how many objects it altered.
 */
export async function corruptNode(node: TestNode): Promise<number> {
  const content = join(node.home, 'content');
  let count = 0;
  for (const entry of await readdir(content, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'tmp') continue;
    for (const file of await readdir(join(content, entry.name))) {
      const path = join(content, entry.name, file);
      const bytes = await readFile(path);
      if (bytes.length === 0) continue;
      for (let at = 0; at < bytes.length; at += 512) bytes[at] = (bytes[at] as number) ^ 0xff;
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0x5a;
      await writeFile(path, bytes);
      count++;
    }
  }
  return count;
}

// End to end, in-process: a real issuer (money.com over TLS on loopback), eight real storage
// nodes, and the backup client paying from its buyer key's own account.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntityId } from '@lcp/protocol';
import { NoPlanError, WrongSecretError } from './errors.js';
import { parseSecret, formatSecret, newSecretKey } from './secret.js';
import { corruptNode, digestTree, recorder, startClient, startNodes, startTestIssuer, type TestIssuer, type TestNode } from './test-support.js';

const SETTINGS = { LCP_BACKUP_CHUNK_BYTES: String(64 * 1024) };
let t: TestIssuer;
let nodes: TestNode[];
let work: string;
let source: string;
const stopped = new Set<TestNode>();

beforeAll(async () => {
  t = await startTestIssuer();
  // peer8 is dearer: the planner should leave it for later
  nodes = await startNodes(t, 8, (i): Record<string, string> => (i === 7 ? { LCP_STORAGE_WRITE_PRICE_PER_KB: '0.05' } : {}));
  work = await mkdtemp(join(tmpdir(), 'lcp-backup-e2e-'));
  source = join(work, 'documents');
  await mkdir(join(source, 'photos', '2003'), { recursive: true });
  await writeFile(join(source, 'photos', '2003', 'fire.raw'), randomBytes(300_000));
  await writeFile(join(source, 'letter.txt'), 'Dear Claire,\n'.repeat(2000));
  await writeFile(join(source, 'empty'), '');
}, 120_000);

afterAll(async () => {
  for (const n of nodes ?? []) if (!stopped.has(n)) await n.node.close();
  await t?.stop();
  await rm(work, { recursive: true, force: true });
  for (const n of nodes ?? []) await rm(n.home, { recursive: true, force: true });
});

describe('archival backup over paid storage peers', () => {
  it('backs up, survives two peers stopping, repairs, catches a corrupting peer, restores on a new machine, and its statement matches the issuer', async () => {
    const home = join(work, 'home');
    const out = recorder();
    const running = await startClient(t, nodes, home, SETTINGS, out);
    const buyer = running.client.buyerId as EntityId;
    await t.issuer.ledger.mint(buyer, 100_000n, 'fund-backup'); // 1000.00
    const { secret } = await running.client.init({ budget: 50_000n, goal: 0.999, chunkBytes: 64 * 1024, currency: { wsdl: t.issuer.wsdlUrl, scale: 2 } });
    // the secret is the key alone: the peers say where the roots are
    expect(secret).toMatch(/^lcpb1\.[A-Za-z0-9_-]{43}$/);
    expect(parseSecret(secret).roots).toEqual([]);

    // back up: the plan is shown, and it keeps data if any two peers fail
    const summary = await running.client.backup([source]);
    expect(summary.files).toBe(3);
    expect(summary.plan.n - summary.plan.k).toBeGreaterThanOrEqual(2);
    expect(summary.plan.survival).toBeGreaterThanOrEqual(0.999);
    expect(summary.plan.peers).not.toContain('peer8');
    expect(out.text()).toMatch(/plan: \d+ of \d+, survival/);
    expect(out.text()).toMatch(/backup {2}\[#{20}\] 100%/);

    const original = await digestTree(join(work));
    const expected = Object.fromEntries(Object.entries(original).filter(([p]) => p.startsWith('documents/')));
    const first = join(work, 'restore-1');
    await running.client.restore('1', undefined, first);
    expect(await digestTree(first)).toEqual(expected);

    // two holders stop: restore still byte-exact
    const holders = nodes.filter((n) => summary.plan.peers.includes(n.name));
    for (const n of holders.slice(0, 2)) {
      await n.node.close();
      stopped.add(n);
    }
    const second = join(work, 'restore-2');
    await running.client.restore('1', 'documents/photos', second);
    expect(await digestTree(second)).toEqual(Object.fromEntries(Object.entries(expected).filter(([p]) => p.startsWith('documents/photos/'))));

    // repair re-creates the missing fragments on other peers
    const repaired = await running.client.repair();
    expect(repaired.fragmentsCreated).toBeGreaterThan(0);
    expect(repaired.unrecoverable).toBe(0);
    expect(out.text()).toMatch(/repair {2}\[/);

    // a peer that alters what it holds is caught by the audit and loses its standing
    const liar = holders[2] as TestNode;
    expect(await corruptNode(liar)).toBeGreaterThan(0);
    const audit = await running.client.check(3);
    const liarReport = audit.find((r) => r.peer === liar.name);
    expect(liarReport).toMatchObject({ failed: 1, disqualified: true, failure: 1 });
    expect(audit.filter((r) => r.peer !== liar.name && !r.unreachable).every((r) => r.failed === 0 && r.passed > 0)).toBe(true);
    // challenges are ranges: a block of at most 1/16 of a fragment (and at least 1 KB), paid by its bytes
    const fragments = Object.values(running.client.catalog.chunks).flatMap((c) => c.fragments);
    const fragmentBytes = Math.max(...fragments.map((f) => f.size));
    for (const r of audit.filter((r) => r.passed > 0)) expect(r.bytesRead).toBeLessThanOrEqual(r.passed * Math.max(1024, Math.ceil(fragmentBytes / 16)));
    const readPerKb = 2n; // 0.02, the nodes' read price
    const auditLines = running.client.spending.lines().filter((l) => l.purpose === 'audit');
    expect(auditLines.length).toBeGreaterThan(0);
    for (const l of auditLines) expect(l.amount).toBeLessThanOrEqual(readPerKb * BigInt(Math.ceil(Math.max(1024, Math.ceil(fragmentBytes / 16)) / 1024)));
    expect(readPerKb * BigInt(Math.ceil(fragmentBytes / 1024))).toBeGreaterThan(auditLines[0]?.amount ?? 0n);
    const afterAudit = await running.client.repair();
    expect(afterAudit.fragmentsCreated).toBeGreaterThan(0);
    expect(await running.client.peers()).toMatch(new RegExp(`${liar.name} .*disqualified`));
    const third = join(work, 'restore-3');
    await running.client.restore('1', undefined, third);
    expect(await digestTree(third)).toEqual(expected);
    await running.close();

    // a new machine with only the secret (and the peer list) restores
    const fresh = await startClient(t, nodes, join(work, 'new-machine'), { ...SETTINGS, LCP_BACKUP_SECRET: secret });
    expect(fresh.client.buyerId).toBe(buyer);
    const recovered = await fresh.client.init({ budget: 1000n, goal: 0.999, chunkBytes: 64 * 1024, currency: { wsdl: t.issuer.wsdlUrl, scale: 2 } });
    expect(recovered.recovered).toBe(true);
    expect(fresh.client.list()).toMatch(/^\s*1 {2}\d{4}-\d\d-\d\dT/m);
    const fourth = join(work, 'restore-4');
    await fresh.client.restore('1', undefined, fourth);
    expect(await digestTree(fourth)).toEqual(expected);

    // money is exact: our statements (both machines) list every transfer the issuer recorded for the buyer
    const ours = [...(await readStatement(home)), ...fresh.client.spending.lines()].filter((l) => l.status === 'paid');
    await fresh.close();
    const ledger = await t.issuer.ledger.statement(buyer, { limit: 100_000 });
    const debits = ledger.filter((e) => e.delta < 0n);
    const byTransaction = new Map<string, bigint>();
    for (const e of debits) byTransaction.set(e.transactionId ?? '', (byTransaction.get(e.transactionId ?? '') ?? 0n) - e.delta);
    expect(new Map(ours.map((l) => [l.transactionId, l.amount + l.fee]))).toEqual(byTransaction);
    expect(['contract', 'write', 'read', 'audit'].every((p) => ours.some((l) => l.purpose === p))).toBe(true);
    const balance = await t.issuer.ledger.balance(buyer);
    expect(balance).toBe(100_000n - ours.reduce((s, l) => s + l.amount + l.fee, 0n));
    expect((await t.issuer.ledger.totals()).sum).toBe(0n);
  }, 240_000);

  it('refuses a wrong secret with a clear error', async () => {
    const running = await startClient(t, nodes.filter((n) => !stopped.has(n)), join(work, 'home-a'), SETTINGS);
    await t.issuer.ledger.mint(running.client.buyerId as EntityId, 10_000n, 'fund-a');
    const { secret } = await running.client.init({ budget: 10_000n, goal: 0.9, chunkBytes: 64 * 1024, currency: { wsdl: t.issuer.wsdlUrl, scale: 2 } });
    await running.client.backup([join(source, 'letter.txt')]);
    // a secret of the old form named its root contracts
    const locators = running.client.catalog.roots.map((r) => ({ nodePrefix: r.nodeId.slice(0, 16), contractId: r.contract.contractId }));
    await running.close();
    // the roots of that backup with another key: the peers do not know the key as their buyer
    const wrong = formatSecret(newSecretKey(), locators);
    const other = await startClient(t, nodes.filter((n) => !stopped.has(n)), join(work, 'home-b'), { ...SETTINGS, LCP_BACKUP_SECRET: wrong });
    await expect(other.client.init({ budget: 1000n, goal: 0.9, chunkBytes: 64 * 1024, currency: { wsdl: t.issuer.wsdlUrl, scale: 2 } })).rejects.toThrow(WrongSecretError);
    await other.close();
    // a secret of the current form (the key alone) that no peer knows: a wrong secret, not a new backup
    const unknown = await startClient(t, nodes.filter((n) => !stopped.has(n)), join(work, 'home-b2'), { ...SETTINGS, LCP_BACKUP_SECRET: formatSecret(newSecretKey()) });
    await expect(unknown.client.init({ budget: 1000n, goal: 0.9, chunkBytes: 64 * 1024, currency: { wsdl: t.issuer.wsdlUrl, scale: 2 } })).rejects.toThrow(
      /wrong secret: none of the \d+ peers holds a backup root for its key/,
    );
    expect(unknown.client.spending.spent).toBe(0n);
    await unknown.close();
    // and the secret of that backup, given on a new machine, finds it with no root named
    const found = await startClient(t, nodes.filter((n) => !stopped.has(n)), join(work, 'home-b3'), { ...SETTINGS, LCP_BACKUP_SECRET: secret });
    expect((await found.client.init({ budget: 1000n, goal: 0.9, chunkBytes: 64 * 1024, currency: { wsdl: t.issuer.wsdlUrl, scale: 2 } })).recovered).toBe(true);
    await found.close();
    // an old secret (with its root locators) still opens the backup, and init hands back the current form
    const old = await startClient(t, nodes.filter((n) => !stopped.has(n)), join(work, 'home-b4'), { ...SETTINGS, LCP_BACKUP_SECRET: formatSecret(parseSecret(secret).key, locators) });
    expect(await old.client.init({ budget: 1000n, goal: 0.9, chunkBytes: 64 * 1024, currency: { wsdl: t.issuer.wsdlUrl, scale: 2 } })).toEqual({ secret, recovered: true });
    await old.close();
    // and the folder of one backup refuses another backup's secret
    await expect(startClient(t, nodes, join(work, 'home-a'), { ...SETTINGS, LCP_BACKUP_SECRET: formatSecret(newSecretKey(), []) })).rejects.toThrow(/wrong secret/);
  }, 120_000);

  it('stops at the budget: nothing is bought when the plan costs more than is left', async () => {
    const running = await startClient(t, nodes.filter((n) => !stopped.has(n)), join(work, 'home-c'), SETTINGS);
    await t.issuer.ledger.mint(running.client.buyerId as EntityId, 10_000n, 'fund-c');
    await running.client.init({ budget: 500n, goal: 0.9, chunkBytes: 64 * 1024, currency: { wsdl: t.issuer.wsdlUrl, scale: 2 } });
    const spentAfterInit = running.client.spending.spent;
    await expect(running.client.backup([source])).rejects.toThrow(NoPlanError);
    await expect(running.client.backup([source])).rejects.toThrow(/budget exhausted/);
    expect(running.client.spending.spent).toBe(spentAfterInit);
    await running.close();
  }, 60_000);

  it('says which peers are unreachable when none answers', async () => {
    const down = [...stopped];
    const running = await startClient(t, down, join(work, 'home-d'), SETTINGS);
    await expect(running.client.init({ budget: 500n, goal: 0.9, chunkBytes: 64 * 1024, currency: { wsdl: t.issuer.wsdlUrl, scale: 2 } })).rejects.toThrow(
      /no peer answered: the root cannot be placed \(peer unreachable\)/,
    );
    expect(running.client.spending.spent).toBe(0n);
    await running.close();
  }, 60_000);
});

async function readStatement(home: string) {
  const { Spending } = await import('./spending.js');
  const spending = await Spending.open(join(home, 'statement.jsonl'), { kind: 'issuer', pay: async () => ({ fee: 0n }), close: async () => {} }, { wsdl: '', scale: 2 }, 0n);
  return spending.lines();
}

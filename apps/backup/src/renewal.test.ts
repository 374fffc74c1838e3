// Contracts end: the secret must outlive them. A real issuer and five real storage nodes whose
// clock, like the backup's, is moved forward. Near the end of the 14-day window, repair renews
// the root contracts and re-creates every fragment under new contracts; once the first
// contracts have ended, a new machine with only the secret (which names no contract) still
// finds the catalog by asking the peers for its key's contracts, and restores byte-exact.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntityId } from '@lcp/protocol';
import { parseSecret } from './secret.js';
import { Spending } from './spending.js';
import { digestTree, recorder, startClient, startNodes, startTestIssuer, type TestIssuer, type TestNode } from './test-support.js';

const DAY = 24 * 3600 * 1000;
const SETTINGS = { LCP_BACKUP_CHUNK_BYTES: String(64 * 1024) };
let skew = 0;
const now = () => Date.now() + skew;
let t: TestIssuer;
let nodes: TestNode[];
let work: string;

beforeAll(async () => {
  t = await startTestIssuer();
  nodes = await startNodes(t, 5, () => ({}), { now });
  work = await mkdtemp(join(tmpdir(), 'lcp-backup-renewal-'));
}, 120_000);

afterAll(async () => {
  for (const n of nodes ?? []) await n.node.close();
  await t?.stop();
  await rm(work, { recursive: true, force: true });
  for (const n of nodes ?? []) await rm(n.home, { recursive: true, force: true });
});

describe('contracts that end', () => {
  it('renews the roots and the fragments before their contracts end, and a new machine finds the catalog with the secret alone', async () => {
    const source = join(work, 'documents');
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'thesis.pdf'), randomBytes(200_000));
    const settings = { budget: 50_000n, goal: 0.99, chunkBytes: 64 * 1024, currency: { wsdl: t.issuer.wsdlUrl, scale: 2 } };

    const home = join(work, 'home');
    const out = recorder();
    const running = await startClient(t, nodes, home, SETTINGS, out, { now });
    const buyer = running.client.buyerId as EntityId;
    await t.issuer.ledger.mint(buyer, 100_000n, 'fund-renewal');
    const { secret } = await running.client.init(settings);
    expect(parseSecret(secret).roots).toEqual([]);
    await running.client.backup([source]);
    const firstRoots = running.client.catalog.roots.map((r) => r.contract.contractId);
    expect(firstRoots.length).toBeGreaterThan(0);

    // a fresh repair has nothing to do
    const idle = await running.client.repair();
    expect(idle).toMatchObject({ fragmentsCreated: 0, chunksRepaired: 0 });

    // 11 of 14 days later every contract is in its last quarter: repair moves everything
    skew = 11 * DAY;
    const renewed = await running.client.repair();
    expect(renewed).toMatchObject({ belowGoal: 0, unrecoverable: 0 });
    expect(renewed.chunksRepaired).toBe(renewed.chunksChecked);
    expect(out.text()).toMatch(/root contracts renewed on peer\d/);
    const catalog = running.client.catalog;
    const lateEnough = now() + 3 * DAY;
    const lasting = catalog.roots.filter((r) => Date.parse(r.contract.validUntil) > lateEnough);
    expect(lasting.length).toBeGreaterThan(0);
    expect(lasting.every((r) => !firstRoots.includes(r.contract.contractId))).toBe(true);
    const contractEnd = new Map(Object.values(catalog.contracts).flat().map((c) => [c.contract.contractId, Date.parse(c.contract.validUntil)]));
    for (const chunk of Object.values(catalog.chunks)) {
      const lastingFragments = chunk.fragments.filter((f) => f.state === 'ok' && (contractEnd.get(f.contractId) ?? 0) > lateEnough);
      expect(lastingFragments.length).toBeGreaterThanOrEqual(chunk.k);
    }
    await running.close();

    // 15 days: the first contracts have ended; the secret alone finds the catalog
    skew = 15 * DAY;
    const fresh = await startClient(t, nodes, join(work, 'new-machine'), { ...SETTINGS, LCP_BACKUP_SECRET: secret }, recorder(), { now });
    const recovered = await fresh.client.init({ ...settings, budget: 1000n });
    expect(recovered).toEqual({ secret, recovered: true });
    await fresh.client.restore('1', undefined, join(work, 'restored'));
    const original = await digestTree(source);
    expect(await digestTree(join(work, 'restored', 'documents'))).toEqual(original);

    // money is exact: both machines' statements are the issuer's record of the buyer
    const first = await Spending.open(join(home, 'statement.jsonl'), { kind: 'issuer', pay: async () => ({ fee: 0n }), close: async () => {} }, settings.currency, 0n);
    const ours = [...first.lines(), ...fresh.client.spending.lines()].filter((l) => l.status === 'paid');
    await fresh.close();
    const debits = new Map<string, bigint>();
    for (const e of await t.issuer.ledger.statement(buyer, { limit: 100_000 })) {
      if (e.delta < 0n) debits.set(e.transactionId ?? '', (debits.get(e.transactionId ?? '') ?? 0n) - e.delta);
    }
    expect(new Map(ours.map((l) => [l.transactionId, l.amount + l.fee]))).toEqual(debits);
    expect(await t.issuer.ledger.balance(buyer)).toBe(100_000n - ours.reduce((s, l) => s + l.amount + l.fee, 0n));
    expect((await t.issuer.ledger.totals()).sum).toBe(0n);
  }, 180_000);
});

// kill -9 of the issuer process during a stream of transfers: after a restart every
// acknowledged transfer is there exactly once, the sum is zero, and the transfers that were
// in flight are settled by retransmitting them with the same counter.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IssuerClient, MemoryStateStore } from '@lcp/client';
import type { IssuerLedger } from '@lcp/issuer-core';
import { serveIssuer } from './bench/serve-process.js';
import { initCurrency, loadCurrency, openCurrencyLedger } from './currency.js';
import { demoCa, loopback, newHolder, type TestHolder } from './test-support.js';

let dir: string;
let holders: TestHolder[];

const openLedger = async (): Promise<IssuerLedger> => openCurrencyLedger(await loadCurrency(dir));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lcp-crash-'));
  await initCurrency({
    dir,
    domain: 'money.com',
    ca: await demoCa(),
    settings: { LCP_HOST: '127.0.0.1', LCP_HTTPS_PORT: '0', LCP_HTTP_PORT: '0', LCP_PUBLIC_URL: 'https://money.com:0/lcp' },
  });
  holders = await Promise.all(Array.from({ length: 4 }, () => newHolder()));
  const ledger = await openLedger();
  for (const h of holders) await ledger.mint(h.id, 1_000_000n, `fund-${h.id}`);
  await ledger.close();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it('keeps every acknowledged transfer exactly once across kill -9', async () => {
  const ca = await demoCa();
  const states = holders.map(() => new MemoryStateStore());
  const connect = (wsdlUrl: string, i: number) =>
    IssuerClient.connect({
      wsdlUrl,
      credentials: holders[i] as TestHolder,
      caPem: ca.certPem,
      lookup: loopback,
      state: states[i] as MemoryStateStore,
      retries: 0, // see the crash, do not ride it out
    });

  const first = await serveIssuer(dir);
  const clients = await Promise.all(holders.map((_, i) => connect(first.wsdlUrl, i)));
  const acknowledged: string[] = [];
  let sent = 0;
  const streams = clients.map(async (client, i) => {
    for (let k = 0; ; k++) {
      const recipient = (holders[(i + 1) % holders.length] as TestHolder).id;
      sent++;
      try {
        const r = await client.transferFunds({ recipient, amount: 100n, transactionId: `h${i}-t${k}` });
        if (r.result === 'success') acknowledged.push(`h${i}-t${k}`);
      } catch {
        return; // the issuer died under us
      }
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 700));
  first.child.kill('SIGKILL');
  await Promise.all(streams);
  for (const c of clients) c.close();
  expect(acknowledged.length).toBeGreaterThan(20);

  // restart; each holder's next request first retransmits the one left pending by the crash
  const second = await serveIssuer(dir);
  try {
    const again = await Promise.all(holders.map((_, i) => connect(second.wsdlUrl, i)));
    const pendingBefore = (await Promise.all(states.map((s) => s.load()))).filter((s) => s.pending).length;
    await Promise.all(
      again.map((client, i) =>
        client.transferFunds({ recipient: (holders[(i + 1) % holders.length] as TestHolder).id, amount: 1n, transactionId: `after-${i}` }),
      ),
    );
    for (const c of again) c.close();
    expect((await Promise.all(states.map((s) => s.load()))).filter((s) => s.pending)).toEqual([]);

    const ledger = await openLedger();
    try {
      const seen = new Map<string, number>();
      for (const h of holders) {
        for (const e of await ledger.statement(h.id)) {
          if (e.kind === 'transfer' && e.delta < 0n && e.transactionId) seen.set(e.transactionId, (seen.get(e.transactionId) ?? 0) + 1);
        }
      }
      for (const id of acknowledged) expect(seen.get(id), id).toBe(1);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      // every transfer that was started either committed once or not at all; the in-flight ones settled
      expect(seen.size).toBeGreaterThanOrEqual(acknowledged.length + holders.length);
      expect(seen.size).toBeLessThanOrEqual(sent + holders.length);
      const totals = await ledger.totals();
      expect(totals.sum).toBe(0n);
      expect(totals.negativeAccounts).toEqual([]);
      console.log(`crash test: ${acknowledged.length} acknowledged before kill -9, ${pendingBefore} in flight, ${seen.size} transfers after recovery`);
    } finally {
      await ledger.close();
    }
  } finally {
    second.child.kill('SIGTERM');
  }
}, 30_000);

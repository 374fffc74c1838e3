// Several issuer nodes serving one currency from one PostgreSQL (a real server in a container):
// long-polls woken across nodes, a holder alternating between nodes, sessions resumed on
// another node with the resumed fee, kill -9 of a node under load, and a PostgreSQL restart
// under load. Nodes are the same startIssuer() as production, or `lcp-issuer serve` processes.
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import pg from 'pg';
import * as soap from 'soap';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { IssuerClient, MemoryStateStore } from '@lcp/client';
import { startIssuer, type RunningIssuer } from './app.js';
import { serveIssuer } from './bench/serve-process.js';
import { createDatabase, startPostgres, type RunningPostgres } from '@lcp/issuer-core/postgres-container';
import { initCurrency, loadCurrency } from './currency.js';
import { createLogger } from './logger.js';
import { demoCa, faultOf, loopback, newHolder, type TestHolder } from './test-support.js';

const FEES = { LCP_FEE_RATE_PPM: '10000', LCP_FEE_RESUMED_RATE_PPM: '5000', LCP_FEE_FIXED: '0', LCP_FEE_RESUMED_FIXED: '0' };

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A currency folder whose ledger is the PostgreSQL database at `url`. */
async function currency(url: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lcp-scale-'));
  dirs.push(dir);
  await initCurrency({
    dir,
    domain: 'money.com',
    ca: await demoCa(),
    settings: {
      LCP_HOST: '127.0.0.1',
      LCP_HTTPS_PORT: '0',
      LCP_HTTP_PORT: '0',
      LCP_PUBLIC_URL: 'https://money.com:0/lcp',
      LCP_DATABASE_URL: url,
      LCP_DATABASE_POOL_SIZE: '8',
      ...FEES,
    },
  });
  return dir;
}

const startNode = async (dir: string, nodeId: string): Promise<RunningIssuer> =>
  startIssuer(await loadCurrency(dir, { LCP_NODE_ID: nodeId }), { logger: createLogger('silent') });

async function connect(node: { wsdlUrl: string }, holder: TestHolder, options: { state?: MemoryStateStore; retries?: number } = {}) {
  return IssuerClient.connect({
    wsdlUrl: node.wsdlUrl,
    credentials: holder,
    caPem: (await demoCa()).certPem,
    lookup: loopback,
    ...options,
  });
}

/** A bare node-soap client on `agent`, to set every counter by hand. */
async function rawSoap(node: RunningIssuer, agent: https.Agent): Promise<soap.Client> {
  const client = await soap.createClientAsync(node.wsdlUrl, {
    wsdl_options: { httpAgent: new (await import('node:http')).Agent({ lookup: loopback }) },
  });
  client.setSecurity({ addOptions: (o: Record<string, unknown>) => void (o.httpsAgent = agent), toXML: () => '' });
  return client;
}

const transferArgs = (recipient: string, amount: string, transactionId: string, messageCounter: number) => ({
  recipient,
  amount,
  transactionId,
  messageCounter: String(messageCounter),
});

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined); // a dropped connection fails the query instead
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** Resolves once `list` holds at least `count` entries (load under way), however busy the machine. */
async function atLeast(list: unknown[], count: number, timeoutMs = 40_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (list.length < count) {
    if (Date.now() > end) throw new Error(`only ${list.length} of ${count} in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every committed transfer's transactionId with how often it is in the journal, and the sum of balances. */
async function journal(url: string, treasury: string): Promise<{ counts: Map<string, number>; sum: bigint; negative: number }> {
  const rows = await query<{ transaction_id: string; n: string }>(
    url,
    `SELECT transaction_id, count(*)::text AS n FROM transfers WHERE recipient <> 'fees' GROUP BY transaction_id`,
  );
  const [totals] = await query<{ sum: string; negative: string }>(
    url,
    `SELECT ((SELECT coalesce(sum(balance), 0) FROM accounts) + (SELECT coalesce(sum(balance), 0) FROM fee_shards))::text AS sum,
            (SELECT count(*) FROM accounts WHERE balance < 0 AND id <> '${treasury}')::text AS negative`,
  );
  return {
    counts: new Map(rows.map((row) => [row.transaction_id, Number(row.n)])),
    sum: BigInt(totals?.sum ?? '-1'),
    negative: Number(totals?.negative ?? '-1'),
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('two nodes, one PostgreSQL', { timeout: 60_000 }, () => {
  let url: string;
  let a: RunningIssuer;
  let b: RunningIssuer;
  let alice: TestHolder;
  let bob: TestHolder;

  beforeAll(async () => {
    url = await createDatabase(inject('postgresUrl'));
    const dir = await currency(url);
    a = await startNode(dir, 'node-a');
    b = await startNode(dir, 'node-b');
    [alice, bob] = await Promise.all([newHolder(), newHolder()]);
    await a.ledger.mint(alice.id, 1_000_000n, 'fund-alice');
    return async () => {
      await Promise.all([a.close(), b.close()]);
    };
  });

  it('a transfer on node A answers a long-poll waiting on node B', async () => {
    const payer = await connect(a, alice);
    const payee = await connect(b, bob);
    try {
      const started = performance.now();
      const poll = payee.getDeposits({ millisecondsWait: 20_000 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await payer.transferFunds({ recipient: bob.id, amount: 250n, transactionId: 'across-nodes' })).result).toBe('success');
      const answer = await poll;
      expect(answer.deposits.map((d) => d.transactionId)).toEqual(['across-nodes']);
      expect(performance.now() - started).toBeLessThan(10_000); // woken, not timed out
      expect(b.postgres?.stats().received).toBeGreaterThan(0);
    } finally {
      payer.close();
      payee.close();
    }
  });

  it('a holder alternating between nodes keeps exact counter semantics', async () => {
    const carol = await newHolder();
    await b.ledger.mint(carol.id, 100_000n, 'fund-carol');
    const ca = (await demoCa()).certPem;
    const agentA = new https.Agent({ ca, cert: carol.certPem, key: carol.keyPem, lookup: loopback });
    const agentB = new https.Agent({ ca, cert: carol.certPem, key: carol.keyPem, lookup: loopback });
    const onA = await rawSoap(a, agentA);
    const onB = await rawSoap(b, agentB);
    try {
      const send = async (client: soap.Client, args: ReturnType<typeof transferArgs>) =>
        ((await client.transferFundsAsync(args)) as [{ result: string; fee: string }])[0];
      const first = await send(onA, transferArgs(bob.id, '10.00', 'c1', 1));
      expect(first.result).toBe('success');
      // the same request retransmitted to the other node: the stored answer, nothing moves again
      expect(await send(onB, transferArgs(bob.id, '10.00', 'c1', 1))).toEqual(first);
      expect((await send(onB, transferArgs(bob.id, '20.00', 'c2', 2))).result).toBe('success');
      expect(await faultOf(onA.transferFundsAsync(transferArgs(bob.id, '99.00', 'other', 2)))).toMatch(/counterReused/);
      expect((await send(onA, transferArgs(bob.id, '5.00', 'c5', 5))).result).toBe('success'); // gaps are allowed
      expect(await faultOf(onB.transferFundsAsync(transferArgs(bob.id, '1.00', 'late', 3)))).toMatch(/counterTooLow/);
      expect((await send(onB, transferArgs(bob.id, '5000.00', 'too-much', 6))).result).toBe('insufficientFunds');
      expect((await send(onA, transferArgs(bob.id, '5000.00', 'too-much', 6))).result).toBe('insufficientFunds');
      const statement = await a.ledger.statement(carol.id);
      const sent = statement.filter((e) => e.kind === 'transfer' && e.delta < 0n).map((e) => e.transactionId);
      expect(sent).toEqual(['c1', 'c2', 'c5']);
      const fees = statement.filter((e) => e.kind === 'fee').reduce((sum, e) => sum - e.delta, 0n);
      expect(await b.ledger.balance(carol.id)).toBe(100_000n - 1000n - 2000n - 500n - fees);
      expect((await a.ledger.totals()).sum).toBe(0n);
    } finally {
      agentA.destroy();
      agentB.destroy();
    }
  });

  it('a TLS session made on node A resumes on node B, with the resumed fee', async () => {
    const ca = (await demoCa()).certPem;
    const dave = await newHolder();
    await a.ledger.mint(dave.id, 100_000n, 'fund-dave');
    // a full handshake on A, whose session ticket the holder keeps
    const session = await new Promise<Buffer>((resolve, reject) => {
      const socket = tls.connect({ host: 'money.com', port: a.httpsPort, ca, cert: dave.certPem, key: dave.keyPem, lookup: loopback });
      socket.once('session', (ticket: Buffer) => {
        resolve(ticket);
        socket.end();
      });
      socket.once('error', reject);
    });
    const resumedBefore = b.handshakes().resumed;
    // every connection to B offers that ticket
    class ResumingAgent extends https.Agent {
      override createConnection(options: tls.ConnectionOptions): tls.TLSSocket {
        return tls.connect({ ...options, session });
      }
    }
    const agent = new ResumingAgent({ ca, cert: dave.certPem, key: dave.keyPem, lookup: loopback, keepAlive: false });
    try {
      const onB = await rawSoap(b, agent);
      const [answer] = (await onB.transferFundsAsync(transferArgs(bob.id, '100.00', 'resumed-on-b', 1))) as [{ result: string; fee: string }];
      expect(b.handshakes().resumed).toBe(resumedBefore + 1);
      // 100.00 at the resumed rate (0.5 %) is 0.50; after a full handshake it would be 1.00
      expect(answer).toEqual({ result: 'success', fee: '0.5' });
    } finally {
      agent.destroy();
    }
  });
});

describe('durability', { timeout: 60_000 }, () => {
  it('a node refuses to start on a PostgreSQL that is not durable, unless told so explicitly', async () => {
    const url = await createDatabase(inject('postgresUrl'));
    await query(url, `ALTER DATABASE ${new URL(url).pathname.slice(1)} SET synchronous_commit = off`);
    const dir = await currency(url);
    await expect(startNode(dir, 'refused')).rejects.toThrow(/synchronous_commit=off/);
    const allowed = await startIssuer(await loadCurrency(dir, { LCP_ALLOW_NON_DURABLE: 'true' }), { logger: createLogger('silent') });
    try {
      expect(allowed.postgres?.durability).toMatchObject({ durable: false, synchronousCommit: 'off' });
    } finally {
      await allowed.close();
    }
  });
});

/**
 * Holders paying each other in a ring, each through its own node, until `stop` resolves.
 * A transfer left without an answer is settled first by the holder's next call (same counter),
 * on the node `nodeFor` names at that moment.
 */
async function ringLoad(
  holders: TestHolder[],
  nodeFor: (i: number) => { wsdlUrl: string },
  stop: Promise<void>,
  label: string,
  acknowledged: string[],
): Promise<{ acknowledged: string[]; sent: number }> {
  let sent = 0;
  let stopped = false;
  void stop.then(() => (stopped = true));
  await Promise.all(
    holders.map(async (holder, i) => {
      const state = new MemoryStateStore();
      let client = await connect(nodeFor(i), holder, { state, retries: 0 });
      const recipient = (holders[(i + 1) % holders.length] as TestHolder).id;
      for (let k = 0; !stopped || (await state.load()).pending; k += 1) {
        try {
          if ((await state.load()).pending) {
            const settled = await client.recoverPending();
            if (settled?.response.result === 'success') acknowledged.push(settled.order.transactionId);
            continue;
          }
          if (stopped) break;
          const transactionId = `${label}-h${i}-t${k}`;
          sent += 1;
          const answer = await client.transferFunds({ recipient, amount: 100n, transactionId });
          if (answer.result === 'success') acknowledged.push(transactionId);
        } catch {
          // no answer: a node died or the database went away; try again (perhaps elsewhere)
          client.close();
          await new Promise((resolve) => setTimeout(resolve, 100));
          client = await connect(nodeFor(i), holder, { state, retries: 0 }).catch(() => client);
        }
      }
      client.close();
    }),
  );
  return { acknowledged, sent };
}

describe('failures under load', () => {
  it('kill -9 of one node: every acknowledged transfer is there exactly once, the sum is zero', async () => {
    const url = await createDatabase(inject('postgresUrl'));
    const dir = await currency(url);
    const holders = await Promise.all(Array.from({ length: 6 }, () => newHolder()));
    const nodeA = await serveIssuer(dir, { env: { LCP_NODE_ID: 'node-a' } });
    const nodeB = await serveIssuer(dir, { env: { LCP_NODE_ID: 'node-b' } });
    let aAlive = true;
    let treasury = '';
    try {
      const minting = await startNode(dir, 'minter');
      for (const h of holders) await minting.ledger.mint(h.id, 10_000_000n, `fund-${h.id}`);
      treasury = minting.treasury;
      await minting.close();
      let stop!: () => void;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      // half the holders on A; once A is dead they go to B
      const live: string[] = [];
      const load = ringLoad(holders, (i) => (i % 2 === 0 && aAlive ? nodeA : nodeB), stopped, 'kill', live);
      await atLeast(live, 20);
      nodeA.child.kill('SIGKILL');
      aAlive = false;
      const atKill = live.length;
      await atLeast(live, atKill + 20); // the holders of A carry on through B
      stop();
      const { acknowledged, sent } = await load;
      expect(acknowledged.length).toBeGreaterThan(atKill);

      const { counts, sum, negative } = await journal(url, treasury);
      for (const id of acknowledged) expect(counts.get(id), id).toBe(1);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      expect(new Set(acknowledged).size).toBe(acknowledged.length);
      expect(counts.size - holders.length).toBeLessThanOrEqual(sent); // the mints, then at most what was sent
      expect(counts.size - holders.length).toBe(acknowledged.length); // every started transfer was settled
      expect(sum).toBe(0n);
      expect(negative).toBe(0);
    } finally {
      if (aAlive) nodeA.child.kill('SIGKILL');
      nodeB.child.kill('SIGTERM');
    }
  }, 120_000);

  it('a PostgreSQL restart under load: holders recover by retransmission, nothing doubled', async () => {
    let postgres: RunningPostgres | undefined;
    let nodes: RunningIssuer[] = [];
    try {
      postgres = await startPostgres({ hostPort: await freePort() });
      const url = await createDatabase(postgres.url());
      const dir = await currency(url);
      nodes = [await startNode(dir, 'node-a'), await startNode(dir, 'node-b')];
      const holders = await Promise.all(Array.from({ length: 6 }, () => newHolder()));
      for (const h of holders) await nodes[0]!.ledger.mint(h.id, 10_000_000n, `fund-${h.id}`);
      let stop!: () => void;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      const live: string[] = [];
      const load = ringLoad(holders, (i) => nodes[i % 2] as RunningIssuer, stopped, 'restart', live);
      await atLeast(live, 20);
      await postgres.container.restart({ timeout: 5_000 });
      const atRestart = live.length;
      await atLeast(live, atRestart + 20); // transfers commit again after the restart
      stop();
      const { acknowledged } = await load;
      expect(acknowledged.length).toBeGreaterThan(atRestart);

      const { counts, sum, negative } = await journal(url, nodes[0]!.treasury);
      for (const id of acknowledged) expect(counts.get(id), id).toBe(1);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      expect(counts.size - holders.length).toBe(acknowledged.length);
      expect(sum).toBe(0n);
      expect(negative).toBe(0);
      // the nodes noticed and came back: their health checks pass again
      for (const node of nodes) expect((await node.postgres!.health()).database).toBe(true);
    } finally {
      await Promise.allSettled(nodes.map((node) => node.close()));
      await postgres?.stop();
    }
  }, 180_000);
});

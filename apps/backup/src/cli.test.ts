// The CLI as a user runs it, paying through a real local LCP agent (section 5) whose
// spending policy allows the backup application.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApplicationToken, parseConfig as parseAgentConfig, startAgent, writePolicyDocument, type RunningAgent } from '@lcp/agent';
import type { EntityId } from '@lcp/protocol';
import { runCli } from './cli.js';
import { ConfigError } from './config.js';
import { UsageError } from './errors.js';
import { digestTree, loopback, peerList, recorder, startNodes, startTestIssuer, type TestIssuer, type TestNode } from './test-support.js';

let t: TestIssuer;
let nodes: TestNode[];
let agent: RunningAgent;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  t = await startTestIssuer();
  nodes = await startNodes(t, 4);
  work = await mkdtemp(join(tmpdir(), 'lcp-backup-cli-'));
  const agentHome = join(work, 'agent');
  await mkdir(agentHome, { recursive: true, mode: 0o700 });
  const policyPath = join(agentHome, 'policy.json');
  writePolicyDocument(policyPath, {
    currencies: { [t.issuer.wsdlUrl]: { scale: 2 } },
    accept: [t.issuer.wsdlUrl],
    applications: { backup: { spending: { [t.issuer.wsdlUrl]: { perDay: '100', perPurchase: '5' } } } },
  });
  const token = createApplicationToken(policyPath, 'backup');
  agent = await startAgent(
    parseAgentConfig({ LCP_AGENT_HOME: agentHome, LCP_AGENT_PORT: '0', LCP_AGENT_ISSUER_CA: t.caPath, LCP_AGENT_NAME: 'alice', LCP_AGENT_LOG_LEVEL: 'silent' }),
    { lookup: loopback, logger: pino({ level: 'silent' }) },
  );
  await t.issuer.ledger.mint(agent.entityId as EntityId, 10_000n, 'fund-alice');
  await writeFile(join(work, 'peers.json'), peerList(nodes));
  env = {
    LCP_BACKUP_HOME: join(work, 'home'),
    LCP_BACKUP_PEERS: join(work, 'peers.json'),
    LCP_BACKUP_CURRENCY_WSDL: t.issuer.wsdlUrl,
    LCP_BACKUP_PAYER: 'agent',
    LCP_BACKUP_AGENT_URL: agent.url,
    LCP_BACKUP_AGENT_TOKEN: token,
    LCP_BACKUP_CHUNK_BYTES: String(64 * 1024),
  };
}, 120_000);

afterAll(async () => {
  for (const n of nodes ?? []) await n.node.close();
  await agent?.close();
  await t?.stop();
  await rm(work, { recursive: true, force: true });
  for (const n of nodes ?? []) await rm(n.home, { recursive: true, force: true });
});

describe('lcp-backup CLI', () => {
  it('init, backup, list, restore, check, peers and statement, paying through the agent', async () => {
    const data = join(work, 'data');
    await mkdir(data);
    await writeFile(join(data, 'a.bin'), randomBytes(150_000));
    await writeFile(join(data, 'b.txt'), 'hello\n');
    const run = async (...args: string[]) => {
      const out = recorder();
      await runCli(args, env, { lookup: loopback, out });
      return out.text();
    };

    const init = await run('init', '--budget', '40', '--goal', '0.99');
    const secret = (await readFile(join(env.LCP_BACKUP_HOME as string, 'secret'), 'utf8')).trim();
    expect(init).toContain(secret);
    expect(init).toMatch(/budget 40, goal 0.99/);
    const backup = await run('backup', data);
    expect(backup).toMatch(/plan: \d of \d, survival/);
    expect(backup).toMatch(/budget left/);
    expect(await run('list')).toMatch(/snapshot\s+created\s+files\s+size/);
    expect(await run('list', '1')).toMatch(/data\/a\.bin\s+150000/);
    await run('restore', '1', '--to', join(work, 'out'));
    expect(await digestTree(join(work, 'out'))).toEqual(await digestTree(work).then((all) => Object.fromEntries(Object.entries(all).filter(([p]) => p.startsWith('data/')))));
    expect(await run('check')).toMatch(/peer\s+passed\s+failed/);
    expect(await run('peers')).toMatch(/peer1 .* up/);

    // the statement lists every payment, and the issuer recorded exactly those from Alice's agent
    const statement = await run('statement');
    for (const purpose of ['contract', 'write', 'read', 'audit']) expect(statement).toContain(` ${purpose} `);
    const ours = (await readFile(join(env.LCP_BACKUP_HOME as string, 'statement.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { transactionId: string; status: string; amount: string; fee: string })
      .filter((l) => l.status === 'paid');
    const ledger = (await t.issuer.ledger.statement(agent.entityId, { limit: 10_000 })).filter((e) => e.delta < 0n);
    const issuerSide = new Map<string, bigint>();
    for (const e of ledger) issuerSide.set(e.transactionId ?? '', (issuerSide.get(e.transactionId ?? '') ?? 0n) - e.delta);
    expect(new Map(ours.map((l) => [l.transactionId, BigInt(l.amount) + BigInt(l.fee)]))).toEqual(issuerSide);
    expect((await t.issuer.ledger.totals()).sum).toBe(0n);
  }, 120_000);

  it('with the issuer payer: identity keeps a key to fund, init buys with it, and a new machine finds the backup with the secret alone', async () => {
    const home = join(work, 'issuer-home');
    const issuerEnv = { ...env, LCP_BACKUP_HOME: home, LCP_BACKUP_PAYER: 'issuer', LCP_BACKUP_ISSUER_CA: t.caPath };
    const run = async (args: string[], e: Record<string, string> = issuerEnv) => {
      const out = recorder();
      await runCli(args, e, { lookup: loopback, out });
      return out.text();
    };
    const id = (await run(['identity'])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const secretPath = join(home, 'secret');
    const kept = (await readFile(secretPath, 'utf8')).trim();
    expect(kept).toMatch(/^lcpb1\.[A-Za-z0-9_-]{43}$/);
    expect((await run(['identity'])).trim()).toBe(id); // the same key: it was kept

    // not funded yet: init fails, and the key stays
    await expect(run(['init', '--budget', '20', '--goal', '0.99'])).rejects.toThrow();
    expect((await readFile(secretPath, 'utf8')).trim()).toBe(kept);
    await t.issuer.ledger.mint(id as EntityId, 2_000n, 'fund-identity');
    const init = await run(['init', '--budget', '20', '--goal', '0.99']);
    expect(init).toContain(kept);
    expect(init).toMatch(/root contracts on peer\d/);
    const data = join(work, 'issuer-data');
    await mkdir(data);
    await writeFile(join(data, 'note.txt'), 'Dear Claire,\n'.repeat(500));
    await run(['backup', data]);

    // a new machine: the secret alone (no contract in it) and the peer list
    const newHome = join(work, 'issuer-new');
    const recovered = await run(['init', '--budget', '5'], { ...issuerEnv, LCP_BACKUP_HOME: newHome, LCP_BACKUP_SECRET: kept });
    expect(recovered).toMatch(/catalog recovered/);
    expect((await readFile(join(newHome, 'secret'), 'utf8')).trim()).toBe(kept);
    await run(['restore', '1', '--to', join(work, 'issuer-out')], { ...issuerEnv, LCP_BACKUP_HOME: newHome });
    expect(await digestTree(join(work, 'issuer-out'))).toEqual(
      await digestTree(work).then((all) => Object.fromEntries(Object.entries(all).filter(([p]) => p.startsWith('issuer-data/')))),
    );

    // every payment the key made is on the two statements, as the issuer recorded it
    const paid = async (h: string) =>
      (await readFile(join(h, 'statement.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { transactionId: string; status: string; amount: string; fee: string })
        .filter((l) => l.status === 'paid');
    const ours = [...(await paid(home)), ...(await paid(newHome))];
    const issuerSide = new Map<string, bigint>();
    for (const e of await t.issuer.ledger.statement(id as EntityId, { limit: 10_000 })) {
      if (e.delta < 0n) issuerSide.set(e.transactionId ?? '', (issuerSide.get(e.transactionId ?? '') ?? 0n) - e.delta);
    }
    expect(new Map(ours.map((l) => [l.transactionId, BigInt(l.amount) + BigInt(l.fee)]))).toEqual(issuerSide);
    expect(await t.issuer.ledger.balance(id as EntityId)).toBe(2_000n - ours.reduce((s, l) => s + BigInt(l.amount) + BigInt(l.fee), 0n));
  }, 120_000);

  it('answers misuse with clear errors', async () => {
    const run = (args: string[], e = env) => runCli(args, e, { lookup: loopback, out: recorder() });
    await expect(run(['restore', '1'])).rejects.toThrow(UsageError);
    await expect(run(['restore', '9', '--to', join(work, 'x')])).rejects.toThrow(/no snapshot 9/);
    await expect(run(['frobnicate'])).rejects.toThrow(/unknown command/);
    await expect(run(['list'], { ...env, LCP_BACKUP_AGENT_TOKEN: '' })).rejects.toThrow(ConfigError);
    await expect(run(['list'], { ...env, LCP_BACKUP_PAYER: 'bank' })).rejects.toThrow(/LCP_BACKUP_BANK_URL/);
    await expect(run(['list'], { ...env, LCP_BACKUP_HOME: join(work, 'empty') })).rejects.toThrow(/not initialised/);
  }, 60_000);
});

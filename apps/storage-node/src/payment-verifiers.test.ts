// Step 5 through each party that can confirm a payment: the bank (against a small fake of
// bank.com's agent API that long-polls the real issuer, as the bank does in step 6) and the
// local LCP agent (the real one). The issuer verifier is exercised by storage-node.test.ts.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackLookup, type IssuerClient } from '@lcp/client';
import { issueServerCertificate, serverTlsOptions } from '@lcp/crypto';
import { formatAmount } from '@lcp/protocol';
import { hashToken, parseConfig as parseAgentConfig, startAgent, writePolicyDocument, type RunningAgent } from '@lcp/agent';
import type { RunningStorageNode } from './app.js';
import { BankPaymentVerifier } from './payments/bank-payment-verifier.js';
import { PaymentVerifierError } from './payments/payment-verifier.js';
import { StorageNodeProblemError } from './storage-node-client.js';
import { connectHolder, newHolder, party, pay, silent, startTestIssuer, startTestNode, tempHome, type TestHolder, type TestIssuer } from './test-support.js';
import type { StorageTraceEvent } from './trace.js';

let t: TestIssuer;
let currency: { wsdl: string; scale: number };
const homes: string[] = [];

beforeAll(async () => {
  t = await startTestIssuer();
  currency = { wsdl: t.issuer.wsdlUrl, scale: 2 };
}, 30_000);
afterAll(async () => {
  await t?.stop();
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

interface FakeBank {
  url: string;
  holder: TestHolder;
  /** What each payment request carried. */
  asked: { transactionId: string; authorization?: string; wait?: string; currency?: string; traceparent?: string }[];
  close(): Promise<void>;
}

const BANK_TOKEN = 'bank-token-for-bobs-storage-node';

/**
 * bank.com as the storage node sees it: the name document for bob@bank.com, and the payments
 * API that answers once a deposit for userid `bob` arrived at the bank's key (long-polling the
 * real issuer, as the bank does in step 6).
 */
async function startFakeBank(): Promise<FakeBank> {
  const holder = await newHolder();
  const money: IssuerClient = await connectHolder(t, holder);
  const credited = new Map<string, bigint>();
  const asked: FakeBank['asked'] = [];
  const problem = (res: express.Response, status: number, code: string) =>
    res.status(status).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', status, code }));
  const app = express();
  app.get('/.well-known/lcp/names/:name', (req, res) => {
    if (req.params.name !== 'bob') return problem(res, 404, 'unknownName');
    res.json({ name: 'bob@bank.com', userid: 'bob', accounts: [{ wsdl: currency.wsdl, entityId: holder.id }] });
  });
  app.get('/api/v1/payments/:transactionId', async (req, res) => {
    const transactionId = req.params.transactionId;
    const query = req.query as Record<string, string | undefined>;
    asked.push({ transactionId, authorization: req.headers.authorization, wait: query.wait, currency: query.currency, traceparent: req.header('traceparent') });
    if (req.headers.authorization !== `Bearer ${BANK_TOKEN}`) return problem(res, 401, 'unauthorized');
    if (query.currency !== currency.wsdl) return problem(res, 404, 'paymentNotFound');
    if (!credited.has(transactionId)) {
      const deposit = await money.waitForDeposit(transactionId, Math.min(Number(query.wait ?? 0), 5000));
      // only a deposit for bob's sub-account is bob's payment
      if (deposit?.userid === 'bob') credited.set(transactionId, deposit.amount);
    }
    const amount = credited.get(transactionId);
    if (amount === undefined) return problem(res, 404, 'paymentNotFound');
    res.json({ transactionId, amount: formatAmount(amount, 2), currency: currency.wsdl, receivedAt: new Date().toISOString() });
  });
  const { certPem, keyPem } = await issueServerCertificate(t.ca, { hostnames: ['bank.com'] });
  const server = https.createServer(serverTlsOptions({ certPem, keyPem }), app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://bank.com:${(server.address() as AddressInfo).port}`,
    holder,
    asked,
    async close() {
      money.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('BankPaymentVerifier', () => {
  let bank: FakeBank;
  let payer: IssuerClient;
  beforeAll(async () => {
    bank = await startFakeBank();
    const holder = await newHolder();
    await t.issuer.ledger.mint(holder.id as never, 100_00n, `fund-${holder.id}`);
    payer = await connectHolder(t, holder);
  });
  afterAll(async () => {
    payer?.close();
    await bank?.close();
  });

  const verifier = (token = BANK_TOKEN) => new BankPaymentVerifier({ url: bank.url, token, caPem: t.ca.certPem, lookup: loopbackLookup });

  it('confirms a payment once the bank has it, waiting for it to arrive', async () => {
    const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
    const checking = verifier().verify('bank-1', 3_00n, currency, 5000, { traceparent });
    await payer.transferFunds({ recipient: bank.holder.id, amount: 3_50n, transactionId: 'bank-1', userid: 'bob' });
    expect(await checking).toEqual({ amount: 3_50n });
    expect(bank.asked.at(-1)).toEqual({ transactionId: 'bank-1', authorization: `Bearer ${BANK_TOKEN}`, wait: '5000', currency: currency.wsdl, traceparent });
    // asked again, the bank still knows it
    expect(await verifier().verify('bank-1', 3_00n, currency, 0)).toEqual({ amount: 3_50n });
  });

  it('answers nothing for a payment that did not arrive, fell short, or went to another customer', async () => {
    expect(await verifier().verify('bank-never', 1n, currency, 200)).toBeUndefined();
    expect(await verifier().verify('bank-1', 3_51n, currency, 0)).toBeUndefined();
    await payer.transferFunds({ recipient: bank.holder.id, amount: 5_00n, transactionId: 'bank-carol', userid: 'carol' });
    expect(await verifier().verify('bank-carol', 1n, currency, 300)).toBeUndefined();
    expect(await verifier().verify('bank-1', 1n, { wsdl: 'http://claire.com/lcp.wsdl', scale: 2 }, 0)).toBeUndefined();
  });

  it('fails, rather than answering, when the bank cannot be asked', async () => {
    await expect(verifier('wrong-token').verify('bank-1', 1n, currency, 0)).rejects.toThrow(PaymentVerifierError);
    const untrusted = new BankPaymentVerifier({ url: bank.url, token: BANK_TOKEN, lookup: loopbackLookup }); // system roots only
    await expect(untrusted.verify('bank-1', 1n, currency, 0)).rejects.toThrow(PaymentVerifierError);
    const nobody = new BankPaymentVerifier({ url: 'https://bank.com:1', token: BANK_TOKEN, caPem: t.ca.certPem, lookup: loopbackLookup });
    await expect(nobody.verify('bank-1', 1n, currency, 0)).rejects.toThrow(PaymentVerifierError);
  });
});

describe('Bob banks at bank.com (opaque banking)', () => {
  let bank: FakeBank;
  let bob: RunningStorageNode;
  const traces: StorageTraceEvent[] = [];
  beforeAll(async () => {
    bank = await startFakeBank();
    const home = await tempHome();
    homes.push(home);
    bob = await startTestNode(
      t,
      home,
      {
        LCP_STORAGE_PAYEE: 'bank',
        LCP_STORAGE_BANK_NAME: 'bob@bank.com',
        LCP_STORAGE_BANK_URL: bank.url,
        LCP_STORAGE_BANK_TOKEN: BANK_TOKEN,
        LCP_STORAGE_BANK_CA: t.caPath,
      },
      { onTrace: (e) => traces.push(e) },
    );
  });
  afterAll(async () => {
    await bob?.close();
    await bank?.close();
  });

  it("offers payment to the bank's key with userid bob, and checks payments with the bank (step 5)", async () => {
    expect(bob.payTo).toEqual({ entityId: bank.holder.id, userid: 'bob', name: 'bob@bank.com' });
    const videoCom = await party(t, bob, 100_00n);
    try {
      const offer = await videoCom.node.offer();
      expect(offer.payTo).toEqual(bob.payTo);
      const contract = await videoCom.node.buyContract({ offerId: offer.offerId, paymentTransactionId: await pay(videoCom, bob, 10_00n, 'bank-contract') });
      await videoCom.node.write(contract.contractId, 'video', randomBytes(100), await pay(videoCom, bob, 1_00n, 'bank-write'));

      // a payment to the bank for another customer does not pay Bob
      const misdirected = `carol-${randomBytes(4).toString('hex')}`;
      await videoCom.money.transferFunds({ recipient: bank.holder.id, amount: 4_00n, transactionId: misdirected, userid: 'carol' });
      const refused = await videoCom.node
        .requestRetrieval(contract.contractId, 'video', { reader: videoCom.holder.id, paymentTransactionId: misdirected })
        .catch((e: unknown) => e);
      expect((refused as StorageNodeProblemError).code).toBe('paymentNotVerified');

      const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
      const payment = await pay(videoCom, bob, 4_00n, 'bank-read');
      await videoCom.node.requestRetrieval(contract.contractId, 'video', { reader: videoCom.holder.id, paymentTransactionId: payment }, { traceparent });
      const traceId = traceparent.split('-')[1];
      const step5 = traces.filter((e) => e.traceId === traceId && e.step === '5');
      expect(step5.map((e) => [e.what, e.peer])).toEqual([
        ['payment asked', 'bank'],
        ['payment answered', 'bank'],
      ]);
      // the bank was asked in the same trace, as a child span
      const asked = bank.asked.find((a) => a.transactionId === payment);
      expect(asked?.traceparent?.split('-')[1]).toBe(traceId);
      expect(asked?.traceparent).not.toBe(traceparent);
    } finally {
      videoCom.close();
    }
  });
});

describe("Alice's node is paid through her local LCP agent", () => {
  let agent: RunningAgent;
  let agentHome: string;
  let alice: RunningStorageNode;
  const token = `lcp_${randomBytes(32).toString('base64url')}`;

  beforeAll(async () => {
    agentHome = await mkdtemp(join(tmpdir(), 'lcp-storage-agent-'));
    homes.push(agentHome);
    writePolicyDocument(join(agentHome, 'policy.json'), {
      currencies: { [currency.wsdl]: { scale: 2 } },
      accept: [currency.wsdl],
      applications: { 'storage-node': { tokenSha256: hashToken(token).toString('hex'), spending: {} } },
    });
    agent = await startAgent(parseAgentConfig({ LCP_AGENT_HOME: agentHome, LCP_AGENT_PORT: '0', LCP_AGENT_ISSUER_CA: t.caPath }), {
      logger: silent,
      lookup: loopbackLookup,
    });
    const home = await tempHome();
    homes.push(home);
    alice = await startTestNode(t, home, { LCP_STORAGE_NAME: 'alice', LCP_STORAGE_PAYEE: 'agent', LCP_STORAGE_AGENT_URL: agent.url, LCP_STORAGE_AGENT_TOKEN: token });
  });
  afterAll(async () => {
    await alice?.close();
    await agent?.close();
  });

  it("offers payment to the agent's key and sells only against payments the agent saw", async () => {
    expect(alice.payTo).toEqual({ entityId: agent.entityId });
    const news = await party(t, alice, 100_00n);
    try {
      const offer = await news.node.offer();
      const refused = await news.node.buyContract({ offerId: offer.offerId, paymentTransactionId: 'agent-never' }).catch((e: unknown) => e);
      expect((refused as StorageNodeProblemError).code).toBe('paymentNotVerified');
      const contract = await news.node.buyContract({ offerId: offer.offerId, paymentTransactionId: await pay(news, alice, 10_00n, 'agent-contract') });
      expect(contract.payTo.entityId).toBe(agent.entityId);
      expect(await t.issuer.ledger.balance(agent.entityId)).toBe(10_00n);
    } finally {
      news.close();
    }
  });
});

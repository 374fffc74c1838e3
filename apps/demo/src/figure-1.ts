// The paper's Figure 1 (section 2.4), for real: Claire issues a currency; Alice holds 100
// Claire dollars and pays Bob 10; Bob learns of it with getDeposits. Real TLS with client
// certificates, real SOAP through node-soap and the WSDL, a durable SQLite ledger.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loopbackLookup as loopback, Wallet } from '@lcp/client';
import { createCertificateAuthority, createHolderCertificate, generateIdentity, privateKeyPem } from '@lcp/crypto';
import { FEE_ACCOUNT } from '@lcp/issuer-core';
import type { EntityId } from '@lcp/protocol';
import { initCurrency, loadCurrency, startIssuer } from '@lcp/issuer';
import { createLogger } from './logger.js';
import { Narrator } from './narrator.js';

export interface Figure1Result {
  alice: bigint;
  bob: bigint;
  sum: bigint;
}

async function holder(name: string, dir: string) {
  const identity = generateIdentity();
  const certPem = await createHolderCertificate(identity, { commonName: name });
  return { name, id: identity.id as EntityId, credentials: { certPem, keyPem: privateKeyPem(identity) }, dir: join(dir, name) };
}

export async function runFigure1(out: (line: string) => void = console.log): Promise<Figure1Result> {
  const work = await mkdtemp(join(tmpdir(), 'lcp-demo-'));
  const story = new Narrator(2, out);
  const wallets: Wallet[] = [];
  let stopIssuer: (() => Promise<void>) | undefined;
  try {
    story.title("LCP Stack: the paper's Figure 1 (section 2.4). Alice buys something from Bob with Claire dollars.");

    const ca = await createCertificateAuthority('LCP demo CA');
    await initCurrency({
      dir: join(work, 'claire.com'),
      domain: 'claire.com',
      ca,
      settings: {
        LCP_HOST: '127.0.0.1',
        LCP_HTTPS_PORT: '0',
        LCP_HTTP_PORT: '0',
        LCP_PUBLIC_URL: 'https://claire.com:0/lcp',
        LCP_FEE_RATE_PPM: '0', // Figure 1 has no fees; the tests and Figure 2 show them
        LCP_FEE_RESUMED_RATE_PPM: '0',
      },
    });
    const issuer = await startIssuer(await loadCurrency(join(work, 'claire.com')), { logger: createLogger() });
    stopIssuer = () => issuer.close();
    const [alice, bob] = await Promise.all([holder('alice', work), holder('bob', work)]);

    story.note(`Claire's issuer: ${issuer.serviceUrl}  (WSDL ${issuer.wsdlUrl}; names resolve to 127.0.0.1)`);
    story.note(`TLS: a demo CA made for this run signs claire.com; Alice and Bob use self-signed Ed25519 certificates.`);
    story.note(`Alice = ${alice.id}`);
    story.note(`Bob   = ${bob.id}`);
    story.note(`Ledger: SQLite (WAL, synchronous=FULL) in ${work}`);

    const balances = async () =>
      story.balances([
        ['alice', await issuer.ledger.balance(alice.id)],
        ['bob', await issuer.ledger.balance(bob.id)],
        ['claire (treasury)', await issuer.ledger.balance(issuer.treasury)],
        ['fees', await issuer.ledger.balance(FEE_ACCOUNT)],
      ]);

    story.step('0', 'Claire', 'issues 100 Claire dollars to Alice (minting: a transfer from the treasury)', 'packages/issuer-core/src/issuer.ts (mint)');
    await issuer.ledger.mint(alice.id, 100_00n, 'issue-to-alice');
    await balances();

    let sent: string[] = [];
    const narrate = (event: { direction: 'request' | 'response'; xml: string }) => sent.push(event.xml);
    const connect = (who: typeof alice) => {
      const wallet = new Wallet({ credentials: who.credentials, dir: who.dir, caPem: ca.certPem, lookup: loopback, onMessage: narrate });
      wallets.push(wallet);
      return wallet.issuer(issuer.wsdlUrl);
    };
    const aliceAtClaire = await connect(alice);
    const bobAtClaire = await connect(bob);

    story.step('1', 'Alice → claire.com', 'opens a TLS connection with her certificate and sends transferFundsRequest', 'packages/client/src/issuer-client.ts (transferFunds)');
    const transfer = aliceAtClaire.transferFunds({ recipient: bob.id, amount: 10_00n, transactionId: '12345678' });
    const transferResponse = await transfer;
    story.message(sent[0] ?? '');
    story.step('2', 'claire.com → Alice', 'debits Alice 10, credits Bob 10, commits durably, then answers transferFundsResponse', 'apps/issuer/src/soap-service.ts (transferFunds) → packages/issuer-core/src/issuer.ts (transfer)');
    story.message(sent[1] ?? '');
    if (transferResponse.result !== 'success') throw new Error(`transfer failed: ${transferResponse.result}`);
    await balances();

    sent = [];
    story.step('3', 'Bob → claire.com', 'opens his own TLS connection and asks for deposits, willing to wait 3000 ms', 'packages/client/src/issuer-client.ts (getDeposits)');
    const deposits = await bobAtClaire.getDeposits({ millisecondsWait: 3000 });
    story.message(sent[0] ?? '');
    story.step('4', 'claire.com → Bob', 'returns the deposits made to his account since it last replied, and his balance', 'apps/issuer/src/soap-service.ts (getDeposits) → packages/issuer-core/src/issuer.ts (getDeposits)');
    story.message(sent[1] ?? '');
    const received = deposits.deposits.find((d) => d.transactionId === '12345678');
    if (!received) throw new Error('Bob did not see the deposit');
    await balances();

    const totals = await issuer.ledger.totals();
    story.title(
      `Done: Bob saw Alice's 10 Claire dollars under transactionId 12345678. Sum of all balances: ${totals.sum} (always 0).`,
    );
    return { alice: await issuer.ledger.balance(alice.id), bob: await issuer.ledger.balance(bob.id), sum: totals.sum };
  } finally {
    await Promise.all(wallets.map((w) => w.close()));
    await stopIssuer?.();
    await rm(work, { recursive: true, force: true });
  }
}

// Durable transfers against a ledger that already holds many accounts. A fresh issuer process gets
// `accounts` accounts written straight into its SQLite file before it starts (populate.ts); then
// the holders pay accounts drawn at random from that population, so every transfer credits an
// existing account somewhere in a large accounts B-tree and starts its deposit journal.
import { SOAP_PATH } from '@lcp/protocol';
import { httpLoad, problemOf, type HttpLoadResult } from './http-load.js';
import { newHolders, type BenchHolder } from './holders.js';
import { populationAccount } from './populate.js';
import { transferRequestsTo } from './requests.js';
import { forkServerProcess } from './server-process.js';

export interface AccountsResult {
  accounts: number;
  /** Writing the accounts into SQLite, inside the server process before it started. */
  populateSeconds: number;
  /** Forking the server process until it listened (population included). */
  startSeconds: number;
  /** Distinct accounts the recipients were drawn from. */
  recipientPool: number;
  transfers: HttpLoadResult;
  sumIsZero: boolean;
  accountsAfter: number;
}

export async function benchAccounts(
  accounts: number,
  options: { holders: number; funding: bigint; warmupMs: number; durationMs: number; recipientPool: number },
): Promise<AccountsResult> {
  const started = performance.now();
  const server = await forkServerProcess({ child: { accounts } });
  try {
    const startSeconds = (performance.now() - started) / 1000;
    const { domain, caPem, issuerPort } = server.ready;
    const holders = await newHolders(caPem, options.holders);
    const funded = await server.call('mint', { accounts: holders.map((h) => h.id), amount: options.funding });
    if (funded !== holders.length) throw new Error(`funded ${funded} of ${holders.length} holders`);
    // a fixed pseudo-random draw, the same for every population size
    let seed = 12345;
    const random = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const pool = Array.from({ length: Math.min(options.recipientPool, accounts) }, () => populationAccount(random(accounts)));
    const transfers = await httpLoad(
      server,
      issuerPort,
      holders,
      (connection, i) => {
        const holder = holders[i] as BenchHolder;
        const request = transferRequestsTo({ domain, port: issuerPort, path: SOAP_PATH, amount: '0.01', transactionPrefix: `acct-${i}-` });
        return async () =>
          problemOf(await connection.request(request(++holder.counter, pool[random(pool.length)] as string)), (b) =>
            b.includes('<result>success</result>'),
          );
      },
      options,
    );
    const totals = await server.call('totals');
    return {
      accounts,
      populateSeconds: server.ready.population.ms / 1000,
      startSeconds,
      recipientPool: pool.length,
      transfers,
      sumIsZero: totals.sum === 0n && totals.negativeAccounts.length === 0,
      accountsAfter: totals.accounts,
    };
  } finally {
    await server.stop();
  }
}

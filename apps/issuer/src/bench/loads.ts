// The two closed-loop loads that the benchmarks compare: durable transfers in a ring of holders,
// and the same request bytes sent to the bare HTTPS echo.
import { SOAP_PATH } from '@lcp/protocol';
import type { Operation } from './closed-loop.js';
import type { BenchHolder } from './holders.js';
import { problemOf } from './http-load.js';
import { transferRequests } from './requests.js';
import type { ServerProcess } from './server-process.js';
import type { TlsHttpConnection } from './tls-http.js';

/** Holder i pays recipients[i+1] (by default the next holder) one minor unit, with its next counter. */
export function ringTransfers(server: ServerProcess, port: number, holders: BenchHolder[], prefix: string, recipients = holders) {
  const { domain } = server.ready;
  return (connection: TlsHttpConnection, i: number): Operation => {
    const holder = holders[i] as BenchHolder;
    const request = transferRequests({
      domain,
      port,
      path: SOAP_PATH,
      recipient: (recipients[(i + 1) % recipients.length] as BenchHolder).id,
      amount: '0.01',
      transactionPrefix: `${prefix}-${i}-`,
    });
    return async () => problemOf(await connection.request(request(++holder.counter)), (b) => b.includes('<result>success</result>'));
  };
}

/** A transfer request of the same size sent to the echo server, which answers with a fixed body. */
export function echoRequests(server: ServerProcess, holders: BenchHolder[]) {
  const { domain, echoPort, echoPath, echoBody } = server.ready;
  return (connection: TlsHttpConnection, i: number): Operation => {
    const request = transferRequests({
      domain,
      port: echoPort,
      path: echoPath,
      recipient: (holders[(i + 1) % holders.length] as BenchHolder).id,
      amount: '0.01',
      transactionPrefix: `echo-${i}-`,
    })(1);
    return async () => problemOf(await connection.request(request), (b) => b === echoBody);
  };
}

/** The median (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length / 2;
  if (sorted.length === 0) return Number.NaN;
  return Number.isInteger(middle) ? ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2 : (sorted[Math.floor(middle)] as number);
}

// An issuer that cannot be reached (restarting, a network cut) is waited for, not given up on:
// the client retransmits the same request with the same counter, so a retry never pays twice.
import { LcpNetworkError } from '@lcp/client';

/** Runs `call` again while it fails with LcpNetworkError, backing off up to 5 s, until `deadline` (ms). */
export async function whileIssuerUnreachable<T>(call: () => Promise<T>, deadline: number): Promise<T> {
  for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof LcpNetworkError) || Date.now() + delay > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

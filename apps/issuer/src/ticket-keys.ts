// TLS session tickets shared by every node of an issuer: the key of the current epoch
// (wall-clock time / rotation period) is kept in the database, so a ticket one node issued
// resumes a session on any other, and every node switches to the next key at the same moment.
// The next epoch's key is made ahead of time; keys older than the previous epoch are deleted.
import type { Server } from 'node:tls';
import type { PostgresLedgerStore } from '@lcp/issuer-core';
import type { Logger } from './logger.js';

const RETRY_MS = 1000;

export interface SharedTicketKeys {
  stop(): void;
}

/** Sets the current shared key on `server` now, then again at each epoch boundary. */
export async function shareTicketKeys(
  server: Server,
  store: Pick<PostgresLedgerStore, 'ticketKey'>,
  periodMs: number,
  log: Logger,
): Promise<SharedTicketKeys> {
  const epochAt = (ms: number): bigint => BigInt(Math.floor(ms / periodMs));
  let current = epochAt(Date.now());
  server.setTicketKeys(await store.ticketKey(current));
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => void rotate(), delayMs);
    timer.unref();
  };
  // a few ms past the boundary, so that every node computes the new epoch
  const untilNextEpoch = (): number => periodMs - (Date.now() % periodMs) + 5;

  async function rotate(): Promise<void> {
    const epoch = epochAt(Date.now());
    try {
      if (epoch !== current) {
        server.setTicketKeys(await store.ticketKey(epoch));
        current = epoch;
        log.info({ epoch: epoch.toString() }, 'session ticket key rotated');
      }
      schedule(untilNextEpoch());
    } catch (error) {
      // keep the old key: sessions still resume on this node, and other nodes retry alike
      log.warn({ err: error }, 'could not read the shared session ticket key; retrying');
      schedule(RETRY_MS);
    }
  }
  schedule(untilNextEpoch());

  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

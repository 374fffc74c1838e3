// What the issuer knows about each TLS connection: whose key it carries, whether its
// handshake was a resumption, how many requests it has served, and whether its key has
// more connections open than allowed.
import type { TLSSocket } from 'node:tls';
import { entityIdFromSocket } from '@lcp/crypto';
import type { EntityId } from '@lcp/protocol';

export interface ConnectionInfo {
  holder: EntityId | undefined;
  resumed: boolean;
  requests: number;
  overLimit: boolean;
}

export class ConnectionTracker {
  readonly #info = new WeakMap<TLSSocket, ConnectionInfo>();
  readonly #openPerKey = new Map<string, number>();
  /** Handshakes so far, full and resumed (the resumed-session fee discount is earned by the latter). */
  readonly handshakes = { full: 0, resumed: 0 };

  constructor(private readonly maxPerKey: number) {}

  /** Called on 'secureConnection'. */
  accept(socket: TLSSocket): void {
    const holder = entityIdFromSocket(socket) as EntityId | undefined;
    const info: ConnectionInfo = { holder, resumed: socket.isSessionReused(), requests: 0, overLimit: false };
    this.#info.set(socket, info);
    if (info.resumed) this.handshakes.resumed++;
    else this.handshakes.full++;
    if (holder === undefined) return;
    const open = (this.#openPerKey.get(holder) ?? 0) + 1;
    this.#openPerKey.set(holder, open);
    info.overLimit = open > this.maxPerKey;
    socket.once('close', () => {
      const left = (this.#openPerKey.get(holder) ?? 1) - 1;
      if (left > 0) this.#openPerKey.set(holder, left);
      else this.#openPerKey.delete(holder);
    });
  }

  /** Counts a request on its connection and returns what is known of it. */
  request(socket: TLSSocket): ConnectionInfo | undefined {
    const info = this.#info.get(socket);
    if (info) info.requests++;
    return info;
  }

  get(socket: TLSSocket): ConnectionInfo | undefined {
    return this.#info.get(socket);
  }
}

// A TCP proxy between holders and the issuer's HTTPS port that injects faults. TLS passes
// through it untouched: it cannot read the HTTP inside, so it acts on connections and on
// *exchanges*, a run of client bytes up to the first server bytes that follow them. On a
// keep-alive HTTP/1.1 connection without pipelining one exchange after the handshake is one
// request and its response. What each fault does to the bytes (and why that is all a proxy
// in front of TLS can honestly do) is in docs/reliability.md.
import net from 'node:net';

/**
 * What to do with one exchange.
 * - pass: forward both ways.
 * - drop: close the connection before forwarding any byte of the exchange.
 * - delay: hold the client's bytes (`up`) or the issuer's (`down`) for `ms`. If the client
 *   gives up meanwhile, held client bytes are still delivered: the issuer gets the request
 *   after its sender hung up (and maybe after the sender's retransmission).
 * - cut: forward the request whole, and close the client's side at the first bytes of the
 *   answer; the issuer's side stays open so it finishes (and commits) into the void.
 * - reorder: hold the client's bytes until another connection's exchange has been
 *   forwarded, or `ms` at most.
 */
export type ExchangeAction =
  | { kind: 'pass' }
  | { kind: 'drop' }
  | { kind: 'delay'; ms: number; direction: 'up' | 'down' }
  | { kind: 'cut' }
  | { kind: 'reorder'; ms: number };

export interface ExchangeContext {
  /** 1, 2, 3, ... in accept order. */
  connection: number;
  /** 0 is the TLS ClientHello; the first request comes with exchange 1 or later. */
  exchange: number;
}

export interface ProxyStats {
  connections: number;
  exchanges: number;
  drop: number;
  delay: number;
  cut: number;
  reorder: number;
  /** Reorders that did let another connection's request go first. */
  overtaken: number;
  /** Held client bytes delivered after the client had closed its side. */
  late: number;
  /** Connections that could not reach the issuer (it was down). */
  refused: number;
}

const emptyStats = (): ProxyStats => ({
  connections: 0,
  exchanges: 0,
  drop: 0,
  delay: 0,
  cut: 0,
  reorder: 0,
  overtaken: 0,
  late: 0,
  refused: 0,
});

/** How long the issuer's side of a cut or abandoned connection stays open to finish its work. */
const LINGER_MS = 1000;

export class FaultProxy {
  readonly port: number;
  /** Where the issuer listens now; changes when it is restarted on a new port. */
  upstreamPort = 0;
  /** Decides each exchange's fate; `pass` for all by default. */
  decide: (context: ExchangeContext) => ExchangeAction = () => ({ kind: 'pass' });
  stats: ProxyStats = emptyStats();
  /** Sees every chunk and decision (for debugging a failing seed). */
  trace: ((line: string) => void) | undefined;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Reordered exchanges waiting for another connection to go first. */
  readonly #waitingForOthers = new Set<{ connection: number; release: () => void }>();
  #accepted = 0;

  private constructor(server: net.Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  static async start(): Promise<FaultProxy> {
    const server = net.createServer({ pauseOnConnect: false });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
    const proxy = new FaultProxy(server, port);
    server.on('connection', (client) => proxy.#accept(client));
    return proxy;
  }

  /** Counts of this proxy since the last reset, and resets them. */
  takeStats(): ProxyStats {
    const taken = this.stats;
    this.stats = emptyStats();
    return taken;
  }

  /** Closes every connection at once, as a network outage would. */
  cutAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Resolves once nothing is held or lingering: every late delivery has been made. */
  async idle(): Promise<void> {
    while (this.#timers.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const waiting of this.#waitingForOthers) waiting.release();
    this.cutAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run();
    }, ms);
    this.#timers.add(timer);
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined); // resets are part of the game; 'close' follows
  }

  /** Another connection forwarded an exchange: reordered ones held by others may go now. */
  #forwarded(connection: number): void {
    for (const waiting of [...this.#waitingForOthers]) {
      if (waiting.connection !== connection) {
        this.stats.overtaken++;
        waiting.release();
      }
    }
  }

  #accept(client: net.Socket): void {
    const connection = ++this.#accepted;
    this.stats.connections++;
    this.#track(client);
    const upstream = net.connect(this.upstreamPort, '127.0.0.1');
    this.#track(upstream);
    upstream.setNoDelay(true);
    client.setNoDelay(true);

    let exchange = -1;
    let phase: 'request' | 'response' = 'response';
    let action: ExchangeAction = { kind: 'pass' };
    /** Client bytes not yet forwarded (held by delay or reorder, or before the issuer accepted). */
    let held: Buffer[] = [];
    let holding = false;
    let upstreamReady = false;
    let clientGone = false;
    /** The client's side was closed by a cut: the issuer's answer goes nowhere. */
    let cutDone = false;
    /** Issuer bytes held by a `down` delay. */
    let heldDown: Buffer[] = [];
    let holdingDown = false;

    const lingerThenEnd = (): void => {
      // the issuer gets time to finish what it was sent, then sees a normal close
      this.#later(LINGER_MS, () => upstream.end());
    };

    const flushUp = (): void => {
      holding = false;
      if (!upstreamReady) return; // sent on connect
      if (held.length > 0) {
        for (const chunk of held) upstream.write(chunk);
        held = [];
        this.#forwarded(connection);
        if (clientGone) {
          this.stats.late++;
          lingerThenEnd();
        }
      }
    };

    upstream.once('connect', () => {
      upstreamReady = true;
      if (!holding) flushUp();
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (!upstreamReady && error.code === 'ECONNREFUSED') this.stats.refused++;
    });
    upstream.once('close', () => {
      if (!cutDone) client.destroy();
    });

    client.on('data', (chunk: Buffer) => {
      this.trace?.(`c${connection} up ${chunk.length}`);
      if (phase === 'response') {
        phase = 'request';
        exchange++;
        this.stats.exchanges++;
        action = this.decide({ connection, exchange });
        this.trace?.(`c${connection} exchange ${exchange}: ${JSON.stringify(action)}`);
        switch (action.kind) {
          case 'drop':
            this.stats.drop++;
            client.destroy();
            upstream.destroy();
            return;
          case 'delay':
            this.stats.delay++;
            if (action.direction === 'up') {
              holding = true;
              this.#later(action.ms, flushUp);
            }
            break;
          case 'cut':
            this.stats.cut++;
            break;
          case 'reorder': {
            this.stats.reorder++;
            holding = true;
            const waiting = {
              connection,
              release: () => {
                if (!this.#waitingForOthers.delete(waiting)) return;
                flushUp();
              },
            };
            this.#waitingForOthers.add(waiting);
            this.#later(action.ms, waiting.release);
            break;
          }
          case 'pass':
            break;
        }
      }
      if (action.kind === 'drop') return;
      held.push(chunk);
      if (!holding) flushUp();
    });
    client.once('close', () => {
      clientGone = true;
      if (cutDone) return;
      if (holding) return; // delivered late by flushUp, then closed
      if (held.length > 0 && !upstreamReady) {
        // the issuer had not accepted yet: deliver what the client sent, then close
        upstream.once('connect', lingerThenEnd);
        return;
      }
      upstream.end();
    });

    upstream.on('data', (chunk: Buffer) => {
      this.trace?.(`c${connection} down ${chunk.length}`);
      phase = 'response';
      if (cutDone) return;
      if (action.kind === 'cut') {
        cutDone = true;
        client.destroy();
        lingerThenEnd();
        return;
      }
      if (action.kind === 'delay' && action.direction === 'down') {
        heldDown.push(chunk);
        if (!holdingDown) {
          holdingDown = true;
          this.#later(action.ms, () => {
            for (const held of heldDown) if (!client.destroyed) client.write(held);
            heldDown = [];
            holdingDown = false;
            action = { kind: 'pass' };
          });
        }
        return;
      }
      if (!client.destroyed) client.write(chunk);
    });
  }
}

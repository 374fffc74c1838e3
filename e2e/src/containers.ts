// Starting the parties' containers on one network, under their paper names, and everything the
// suite needs around them: files in, commands run, logs saved, traces read, teardown.
import { LINGER } from './config.js'; // first: it sets testcontainers' environment
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { mkdir } from 'node:fs/promises';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GenericContainer, Network, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import type { TraceEvent } from '@lcp/protocol';

/** The uid of the `node` user the images run as: files copied in must be theirs. */
const NODE_UID = 1000;
export const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

export interface PartySpec {
  image: string;
  /** The paper's name: the network alias and the container's name in the logs. */
  name: string;
  env?: Record<string, string>;
  /** A folder of the host copied to /data (owned by the container's user). */
  data?: string;
  /** Wait for this log line instead of the image's healthcheck. */
  waitForLog?: RegExp;
  /** Ports to publish on the host (for the suite's own requests). */
  ports?: number[];
  /** Replaces the image's entrypoint (e.g. a client-only container from an app image). */
  entrypoint?: string[];
}

export class Party {
  readonly lines: string[] = [];
  #log: WriteStream;
  readonly #seen = new Set<string>();
  #partial = '';
  container!: StartedTestContainer;

  constructor(
    readonly name: string,
    logFile: string,
  ) {
    this.#log = createWriteStream(logFile);
  }

  /** Restarts the container (SIGTERM, then start), as an operator or a crash-and-restart would. */
  async restart(): Promise<void> {
    const since = Math.floor(Date.now() / 1000);
    this.#log.write(`--- ${new Date().toISOString()} the suite restarts ${this.name} ---\n`);
    await this.container.restart({ timeout: 10_000 });
    await this.follow(since);
  }

  /** Follows the container's log from `since` (Unix seconds): after a restart. */
  async follow(since: number): Promise<void> {
    (await this.container.logs({ since })).on('data', (chunk: Buffer | string) => this.consume(chunk));
  }

  /** Takes a piece of the container's output; lines already seen (a log replayed) are skipped. */
  consume(chunk: Buffer | string): void {
    const lines = (this.#partial + chunk.toString()).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      if (this.#seen.has(line)) continue;
      this.#seen.add(line);
      this.lines.push(line);
      this.#log.write(`${line}\n`);
    }
  }

  /** Runs a command in the container; throws with its output when it fails. */
  async exec(command: string[], options: { user?: string } = {}): Promise<string> {
    const result = await this.container.exec(command, { user: options.user ?? 'node' });
    if (result.exitCode !== 0) throw new Error(`${this.name}: ${command.join(' ')} exited ${result.exitCode}\n${result.output}`);
    return result.stdout.trim();
  }

  /** The JSON log lines (pino) that have `key`. */
  records<T>(key: string): T[] {
    const found: T[] = [];
    for (const line of this.lines) {
      if (!line.startsWith('{') || !line.includes(`"${key}"`)) continue;
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        if (key in record) found.push(record as T);
      } catch {
        // a line that is not a log record
      }
    }
    return found;
  }

  /** The trace events this party logged for one trace id. */
  traces(traceId: string): TraceEvent[] {
    return this.records<{ trace: TraceEvent }>('trace').map((r) => r.trace).filter((t) => t.traceId === traceId);
  }

  /** Waits until a JSON log line with message `msg` appears; returns it. */
  async waitForRecord<T>(msg: string, timeoutMs = 60_000, after = 0): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.records<{ msg: string }>('msg').filter((r) => r.msg === msg);
      if (found.length > after) return found[after] as T;
      if (Date.now() > until) throw new Error(`${this.name}: no "${msg}" in the log within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  mappedPort(port: number): number {
    return this.container.getMappedPort(port);
  }

  async close(): Promise<void> {
    this.#log.end();
  }
}

/** A folder as a tar archive whose files belong to the images' `node` user (GNU tar). */
function tarOwnedByNode(dir: string): Readable {
  const args = ['-C', dir, '--numeric-owner', `--owner=${NODE_UID}`, `--group=${NODE_UID}`, '-cf', '-', '.'];
  return Readable.from([execFileSync('tar', args, { maxBuffer: 1 << 30 })]);
}

/** One run's containers on one network. `close()` stops them (unless LCP_E2E_LINGER is set). */
export class World {
  readonly parties = new Map<string, Party>();
  #network: StartedNetwork | undefined;
  readonly logDir: string;

  private constructor(readonly runName: string) {
    this.logDir = join(ARTIFACTS, runName);
  }

  static async create(runName: string): Promise<World> {
    const world = new World(runName);
    await mkdir(world.logDir, { recursive: true });
    world.#network = await new Network().start();
    return world;
  }

  get network(): StartedNetwork {
    if (!this.#network) throw new Error('the world has no network');
    return this.#network;
  }

  async start(spec: PartySpec): Promise<Party> {
    const name = `lcp-${this.runName}-${spec.name.replace(/\./g, '-')}`;
    let container = new GenericContainer(spec.image)
      .withName(name)
      .withNetwork(this.network)
      .withNetworkAliases(spec.name)
      .withEnvironment(spec.env ?? {})
      .withLabels({ 'lcp.e2e.run': this.runName })
      .withStartupTimeout(90_000)
      .withWaitStrategy(spec.waitForLog ? Wait.forLogMessage(spec.waitForLog) : Wait.forHealthCheck());
    if (spec.ports) container = container.withExposedPorts(...spec.ports);
    if (spec.entrypoint) container = container.withEntrypoint(spec.entrypoint);
    if (spec.data) {
      container = container.withCopyArchivesToContainer([{ tar: tarOwnedByNode(spec.data), target: '/data' }]);
    }
    // the log is read from the first line, so a container that fails to start has said why
    const party = new Party(spec.name, join(this.logDir, `${spec.name}.log`));
    container = container.withLogConsumer((stream) => stream.on('data', (chunk: Buffer | string) => party.consume(chunk)));
    try {
      party.container = await container.start();
    } catch (error) {
      await party.close();
      const tail = party.lines.slice(-8).join('\n');
      throw new Error(`${spec.name} did not start (${(error as Error).message}); its log: ${join(this.logDir, `${spec.name}.log`)}\n${tail}`);
    }
    this.parties.set(spec.name, party);
    return party;
  }

  party(name: string): Party {
    const party = this.parties.get(name);
    if (!party) throw new Error(`no party ${name}`);
    return party;
  }

  /** Stops every container, then the network; with LCP_E2E_LINGER=1 leaves them running. */
  async close(): Promise<void> {
    const parties = [...this.parties.values()];
    for (const party of parties) await party.close();
    if (LINGER) {
      console.log(`LCP_E2E_LINGER: containers of ${this.runName} left running (docker ps --filter label=lcp.e2e.run=${this.runName})`);
      return;
    }
    await Promise.allSettled(parties.map((p) => p.container.stop({ timeout: 5_000 })));
    await this.#network?.stop().catch(() => undefined);
  }
}

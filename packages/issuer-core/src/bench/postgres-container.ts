// PostgreSQL in a container for the PostgreSQL tests and benchmarks (here and in apps/issuer,
// as @lcp/issuer-core/postgres-container): the image
// docker/postgres/Dockerfile makes (built here if missing, FROM lcp-base/debian:12 when
// docker/base-images.sh made it, else from the official debian:bookworm-slim), run by
// testcontainers. Needs a Docker engine (`sh docker/engine.sh`).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import type { StartedTestContainer } from 'testcontainers';

const run = promisify(execFile);

export const POSTGRES_IMAGE = 'lcp/postgres:15';
const DOCKERFILE_DIR = fileURLToPath(new URL('../../../../docker/postgres', import.meta.url));
const LOCAL_BASE = 'lcp-base/debian:12';
const USER = 'lcp';
const PASSWORD = 'lcp-test';

async function imageExists(name: string): Promise<boolean> {
  try {
    await run('docker', ['image', 'inspect', name]);
    return true;
  } catch {
    return false;
  }
}

/** Builds lcp/postgres:15 unless it exists. */
export async function ensurePostgresImage(): Promise<void> {
  if (await imageExists(POSTGRES_IMAGE)) return;
  const base = (await imageExists(LOCAL_BASE)) ? ['--build-arg', `BASE_IMAGE=${LOCAL_BASE}`] : [];
  await run('docker', ['build', ...base, '-t', POSTGRES_IMAGE, DOCKERFILE_DIR], { maxBuffer: 64 * 1024 * 1024 });
}

export interface RunningPostgres {
  container: StartedTestContainer;
  /** URL of database `name` through the mapped port (default: the container's first database). */
  url(name?: string): string;
  /** URL of database `name` at the container's own address on the bridge network (no port proxy). */
  directUrl(name?: string): string;
  stop(): Promise<void>;
}

/** Starts PostgreSQL; `hostPort` pins the mapped port so that it survives a restart. */
export async function startPostgres(options: { hostPort?: number; args?: string[] } = {}): Promise<RunningPostgres> {
  // no Ryuk (its image cannot be pulled here; we stop what we start), ports on localhost
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';
  await ensurePostgresImage();
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(POSTGRES_IMAGE)
    .withEnvironment({ POSTGRES_USER: USER, POSTGRES_PASSWORD: PASSWORD, POSTGRES_DB: 'lcp' })
    .withExposedPorts(options.hostPort ? { container: 5432, host: options.hostPort } : 5432)
    .withCommand(['postgres', '-c', 'max_connections=300', ...(options.args ?? [])])
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(120_000)
    .start();
  const url = (name = 'lcp'): string =>
    `postgres://${USER}:${PASSWORD}@${container.getHost()}:${container.getMappedPort(5432)}/${name}`;
  const directUrl = (name = 'lcp'): string => {
    const networks = container.getNetworkNames();
    const address = networks.length > 0 ? container.getIpAddress(networks[0] as string) : '';
    return address ? `postgres://${USER}:${PASSWORD}@${address}:5432/${name}` : url(name);
  };
  return { container, url, directUrl, stop: async () => void (await container.stop({ timeout: 5_000 })) };
}

async function create(adminUrl: string, kind: 'DATABASE' | 'SCHEMA', name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE ${kind} ${name}`);
  } finally {
    await client.end();
  }
}

/** Creates an empty database next to the one `adminUrl` names and returns its URL. */
export async function createDatabase(adminUrl: string, prefix = 'issuer'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await create(adminUrl, 'DATABASE', name);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Creates an empty schema in the database `adminUrl` names and returns a URL whose connections
 * use it (search_path): much cheaper than a database per ledger. Ledgers in one database share
 * its notification channel, so use a database of its own where notifications are counted.
 */
export async function createSchema(adminUrl: string, prefix = 'ledger'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await create(adminUrl, 'SCHEMA', name);
  const url = new URL(adminUrl);
  url.searchParams.set('options', `-c search_path=${name}`);
  return url.toString();
}

// PostgreSQL for the tests: the image docker/postgres/Dockerfile makes (built here if missing,
// FROM the local lcp-base/debian:12 when docker/base-images.sh made one, else from the official
// debian:bookworm-slim), run by testcontainers, and a fresh database per ledger.
// TESTCONTAINERS_RYUK_DISABLED and TESTCONTAINERS_HOST_OVERRIDE are set in vitest.config.ts.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';

const run = promisify(execFile);

export const POSTGRES_IMAGE = 'lcp/postgres:15';
const DOCKERFILE_DIR = fileURLToPath(new URL('../../../docker/postgres', import.meta.url));
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

/** Builds lcp/postgres:15 unless it exists (a clean machine builds it once, ~1 min). */
export async function ensurePostgresImage(): Promise<void> {
  if (await imageExists(POSTGRES_IMAGE)) return;
  const base = (await imageExists(LOCAL_BASE)) ? ['--build-arg', `BASE_IMAGE=${LOCAL_BASE}`] : [];
  await run('docker', ['build', ...base, '-t', POSTGRES_IMAGE, DOCKERFILE_DIR], { maxBuffer: 64 * 1024 * 1024 });
}

export interface TestPostgres {
  container: StartedTestContainer;
  /** URL of database `name` (the default database when omitted), through the mapped port. */
  url(name?: string): string;
  stop(): Promise<void>;
}

/** Starts a PostgreSQL container; `hostPort` pins the mapped port (it survives a restart). */
export async function startPostgres(options: { hostPort?: number; args?: string[] } = {}): Promise<TestPostgres> {
  await ensurePostgresImage();
  const container = await new GenericContainer(POSTGRES_IMAGE)
    .withEnvironment({ POSTGRES_USER: USER, POSTGRES_PASSWORD: PASSWORD, POSTGRES_DB: 'lcp' })
    .withExposedPorts(options.hostPort ? { container: 5432, host: options.hostPort } : 5432)
    .withCommand(['postgres', '-c', 'max_connections=300', ...(options.args ?? [])])
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(120_000)
    .start();
  const url = (name = 'lcp'): string =>
    `postgres://${USER}:${PASSWORD}@${container.getHost()}:${container.getMappedPort(5432)}/${name}`;
  return { container, url, stop: async () => void (await container.stop({ timeout: 5_000 })) };
}

/** Creates an empty database and returns its URL. */
export async function createDatabase(adminUrl: string, prefix = 'ledger'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
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
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.searchParams.set('options', `-c search_path=${name}`);
  return url.toString();
}

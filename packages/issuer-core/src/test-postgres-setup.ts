// vitest globalSetup: one PostgreSQL container for the whole run; tests get its URL with
// inject('postgresUrl') and make a database of their own from it.
import type { TestProject } from 'vitest/node';
import { startPostgres } from './bench/postgres-container.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgres = await startPostgres();
  project.provide('postgresUrl', postgres.url());
  return () => postgres.stop();
}

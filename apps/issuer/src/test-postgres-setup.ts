// vitest globalSetup: one PostgreSQL container for the run; tests read its URL with
// inject('postgresUrl') and make their own database in it (@lcp/issuer-core/postgres-container).
import type { TestProject } from 'vitest/node';
import { startPostgres } from '@lcp/issuer-core/postgres-container';

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

#!/usr/bin/env node
// lcp-backup as a process: `node apps/backup/dist/main.js <command>`. Known errors print one
// clear line (exit 2 for usage and configuration, 3 for what went wrong with peers or money).
import { runCli } from './cli.js';
import { ConfigError } from './config.js';

const USAGE_ERRORS = new Set(['UsageError', 'ConfigError', 'SecretFormatError']);
const RUN_ERRORS = new Set(['BudgetExhaustedError', 'PeerUnreachableError', 'WrongSecretError', 'ChunkUnavailableError', 'NoPlanError', 'TamperedError', 'PaymentError', 'AgentProblemError']);

try {
  await runCli(process.argv.slice(2), process.env);
} catch (error) {
  const name = error instanceof ConfigError ? 'ConfigError' : (error as Error).name;
  if (USAGE_ERRORS.has(name) || RUN_ERRORS.has(name)) {
    console.error(`lcp-backup: ${(error as Error).message}`);
    process.exit(USAGE_ERRORS.has(name) ? 2 : 3);
  }
  console.error(error);
  process.exit(1);
}

#!/usr/bin/env node
// lcp-postage as a process: see cli.ts.
import { runSendCli, UsageError } from './cli.js';
import { PostageRefusedError } from './send-with-postage.js';

try {
  await runSendCli(process.argv.slice(2), process.env);
} catch (error) {
  const known = error instanceof UsageError || error instanceof PostageRefusedError;
  console.error(known ? error.message : error);
  process.exit(error instanceof UsageError ? 2 : 1);
}

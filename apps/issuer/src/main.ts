#!/usr/bin/env node
import { runCli, UsageError } from './cli.js';
import { ConfigError } from './config.js';

runCli(process.argv.slice(2), process.env).catch((error: unknown) => {
  const known = error instanceof UsageError || error instanceof ConfigError;
  console.error(known ? error.message : error);
  process.exit(known ? 2 : 1);
});

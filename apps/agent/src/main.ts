#!/usr/bin/env node
// The agent as a process: `node apps/agent/dist/main.js [serve|identity|token create --app NAME]`.
import { runCli, UsageError } from './cli.js';
import { ConfigError } from './config.js';
import { PolicyError } from './policy.js';

try {
  const running = await runCli(process.argv.slice(2), process.env);
  if (running) {
    const stop = () => void running.close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  }
} catch (error) {
  const known = error instanceof UsageError || error instanceof ConfigError || error instanceof PolicyError;
  console.error(known ? error.message : error);
  process.exit(known ? 2 : 1);
}

#!/usr/bin/env node
// lcp-bank: serve with the configuration in the environment, or run a command (init, hash-password).
import { startBank } from './app.js';
import { COMMANDS, runCli, UsageError } from './cli.js';
import { ConfigError, parseConfig } from './config.js';

async function main(): Promise<void> {
  const [command] = process.argv.slice(2);
  if (command && COMMANDS.includes(command)) return runCli(process.argv.slice(2), process.stdin, console.log, process.env);
  if (command) throw new UsageError(`unknown command ${command} (try --help)`);
  const bank = await startBank(parseConfig(process.env));
  const stop = () => void bank.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  const known = error instanceof UsageError || error instanceof ConfigError;
  console.error(known ? error.message : error);
  process.exit(known ? 2 : 1);
});

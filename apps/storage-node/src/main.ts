#!/usr/bin/env node
// The storage node as a process: configuration from the environment, SIGTERM/SIGINT close it.
import { startStorageNode } from './app.js';
import { ConfigError, parseConfig } from './config.js';

try {
  const node = await startStorageNode(parseConfig(process.env));
  const stop = () => void node.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(error instanceof ConfigError ? 2 : 1);
}

#!/usr/bin/env node
// video.com: `node dist/main.js` with LCP_PUBLISHER_* in the environment (see .env.example).
import { startPublisher } from './app.js';
import { ConfigError, parseConfig } from './config.js';

try {
  const publisher = await startPublisher(parseConfig(process.env));
  const stop = () => void publisher.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(error instanceof ConfigError ? 2 : 1);
}

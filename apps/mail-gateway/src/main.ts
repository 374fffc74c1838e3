#!/usr/bin/env node
// The gateway as a process: configuration from the environment, SIGTERM/SIGINT close it.
// `lcp-mail-gateway token` prints a new recipient token and the SHA-256 to put in the policy.
import { startMailGateway } from './app.js';
import { ConfigError, parseConfig } from './config.js';
import { hashToken, newToken, PolicyError } from './policy.js';

try {
  if (process.argv[2] === 'token') {
    const token = newToken();
    console.log(`token: ${token}\ntokenSha256: ${hashToken(token)}`);
  } else {
    const gateway = await startMailGateway(parseConfig(process.env));
    const stop = () => void gateway.close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  }
} catch (error) {
  const known = error instanceof ConfigError || error instanceof PolicyError;
  console.error(known ? error.message : error);
  process.exit(known ? 2 : 1);
}

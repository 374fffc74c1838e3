// lcp-agent commands: serve (the default), identity, token create.
import { generateIdentity, loadOrCreateIdentity } from '@lcp/crypto';
import { startAgent } from './app.js';
import { parseConfig } from './config.js';
import { createApplicationToken } from './policy.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage: node apps/agent/dist/main.js [command]

  serve                      run the agent (default); SIGTERM/SIGINT stop it
  identity                   print the user's entity id (creates the key on first use)
  token create --app NAME    print a new token for application NAME; only its hash is
                             stored, in the policy file (a running agent picks it up)

configuration: LCP_AGENT_* variables (see apps/agent/README.md)`;

/** Runs one command; `print` writes to stdout. Returns a handle for `serve`. */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  print: (line: string) => void = (line) => console.log(line),
): Promise<{ close(): Promise<void> } | undefined> {
  const [command = 'serve', ...rest] = args;
  if (command === 'help' || command === '--help' || command === '-h') {
    print(USAGE);
    return undefined;
  }
  const config = parseConfig(env);
  switch (command) {
    case 'serve':
      return startAgent(config);
    case 'identity': {
      const { identity } = await loadOrCreateIdentity(config.identityKeyPath, generateIdentity);
      print(identity.id);
      return undefined;
    }
    case 'token': {
      const appIndex = rest.indexOf('--app');
      const app = appIndex === -1 ? undefined : rest[appIndex + 1];
      if (rest[0] !== 'create' || !app) throw new UsageError(`token create needs --app NAME\n\n${USAGE}`);
      print(createApplicationToken(config.policyPath, app));
      return undefined;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

export { startAgent, type AgentOptions, type RunningAgent } from './app.js';
export { parseConfig, ConfigError, type AgentConfig } from './config.js';
export { AgentClient, AgentProblemError, type AgentClientOptions, type PaymentOrder } from './agent-client.js';
export {
  createApplicationToken,
  hashToken,
  parsePolicy,
  PolicyError,
  readPolicyDocument,
  writePolicyDocument,
  type PolicyDocument,
} from './policy.js';
export { PROBLEMS, type ProblemCode } from './problems.js';
export { runCli, UsageError, USAGE } from './cli.js';

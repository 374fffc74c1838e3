export { startBank, type RunningBank, type StartBankOptions } from './app.js';
export { parseConfig, ConfigError, type BankConfig, type CurrencyConfig } from './config.js';
export { hashPassword } from './passwords.js';
export { initBank, type NewBank } from './init.js';
export { runCli } from './cli.js';

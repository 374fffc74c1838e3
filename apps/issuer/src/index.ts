export { startIssuer, type IssuerOptions, type RunningIssuer } from './app.js';
export { parseConfig, ConfigError, type IssuerConfig } from './config.js';
export { initCurrency, loadCurrency, openCurrencyLedger, CONFIG_FILE, type NewCurrency } from './currency.js';
export { runCli } from './cli.js';

export * from './errors.js';
export * from './holder-state.js';
export * from './issuer-client.js';
export * from './wallet.js';

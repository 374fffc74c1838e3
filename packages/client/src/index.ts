export * from './errors.js';
export * from './holder-state.js';
export * from './issuer-client.js';
export * from './wallet.js';
export * from './loopback-lookup.js';
export * from './resolve.js';
export * from './bounded-request.js';
export * from './durable-file.js';

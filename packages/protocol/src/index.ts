export * from './amount.js';
export * from './codec.js';
export * from './codes.js';
export * from './entity-id.js';
export * from './limits.js';
export type * from './messages.js';
export * from './wsdl.js';
export * from './envelope.js';
export * from './trace.js';

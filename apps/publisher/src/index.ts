export { startPublisher, type PublisherOptions, type RunningPublisher } from './app.js';
export { parseConfig, ConfigError, type PublisherConfig } from './config.js';
export type { Peer } from './placement.js';

import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, service = 'storage-node'): Logger {
  return pino({ level, base: { service } });
}

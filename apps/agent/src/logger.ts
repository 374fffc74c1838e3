import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, service = 'agent'): Logger {
  return pino({ level, base: { service } });
}

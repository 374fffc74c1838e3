import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, service = 'bank'): Logger {
  return pino({ level, base: { service } });
}

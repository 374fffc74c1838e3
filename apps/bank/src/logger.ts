import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, service = 'bank'): Logger {
  return pino({ level, base: { service } });
}

/** One line for an expected failure (an issuer down): the whole error object would log an HTTP client's config. */
export const reason = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

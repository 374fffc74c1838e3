import { pino } from 'pino';

/** Services log warnings and errors only, so the story stays readable. */
export const createLogger = () => pino({ level: 'warn' });

// W3C Trace Context (traceparent) for following one flow, such as the paper's Figure 2, across
// services: every party records what it sent and received under the same trace id, so the
// order and timing of the steps come from the services themselves, not from a script.
import { randomBytes } from 'node:crypto';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TraceContext {
  traceId: string;
  spanId: string;
}

export function parseTraceparent(header: string | undefined): TraceContext | undefined {
  const m = header ? TRACEPARENT.exec(header.trim()) : null;
  if (!m || /^0+$/.test(m[1] as string) || /^0+$/.test(m[2] as string)) return undefined;
  return { traceId: m[1] as string, spanId: m[2] as string };
}

/** A traceparent for a new span: in `parent`'s trace, or in a new trace. */
export function childTraceparent(parent?: string | TraceContext): string {
  const context = typeof parent === 'string' ? parseTraceparent(parent) : parent;
  const traceId = context?.traceId ?? randomBytes(16).toString('hex');
  return `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
}

/** One thing a party saw happen in a traced flow. */
export interface TraceEvent {
  traceId: string;
  spanId: string;
  /** Who recorded it, e.g. "money.com", "bob". */
  party: string;
  /** e.g. "transferFunds received", "retrieval instructions requested". */
  what: string;
  /** The other party, when known. */
  peer?: string;
  /** Milliseconds since the Unix epoch, with sub-millisecond precision. */
  at: number;
}

export type TraceSink = (event: TraceEvent) => void;

/** performance.timeOrigin + performance.now(): comparable across processes on one machine. */
export const traceClock = (): number => performance.timeOrigin + performance.now();

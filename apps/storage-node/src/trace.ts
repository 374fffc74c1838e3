// W3C Trace Context: a request's `traceparent` is logged, and the events of a traced request are
// echoed to the onTrace hook, so a flow such as the paper's Figure 2 can be drawn from what each
// party recorded. The events are @lcp/protocol TraceEvents (like the issuer's) plus the step.
import { childTraceparent as child, parseTraceparent as parse, traceClock, type TraceEvent } from '@lcp/protocol';

export { traceClock };

export interface TraceContext {
  traceparent: string;
  traceId: string;
  spanId: string;
}

export function parseTraceparent(header: unknown): TraceContext | undefined {
  if (typeof header !== 'string') return undefined;
  const context = parse(header);
  return context && { traceparent: header.trim(), ...context };
}

/** A traceparent for a call this node makes on behalf of a traced request: same trace, new span. */
export const childTraceparent = (parent: TraceContext | undefined): string | undefined => parent && child(parent);

/** The Figure 2 steps this node takes part in (brief, "Figure 2, step by step"). */
export type Figure2Step = '4' | '5' | "4'" | '7';

/** One thing the node saw happen in a traced request. */
export interface StorageTraceEvent extends TraceEvent {
  /** The Figure 2 step, when the event is one. */
  step?: Figure2Step;
  detail?: Record<string, string | number | boolean>;
}

export type TraceHook = (event: StorageTraceEvent) => void;

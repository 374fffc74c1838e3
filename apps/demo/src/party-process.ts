// One party of Figure 2 as a process of its own (forked by party-host.ts): starts it with the
// same startX() its app's main.ts calls, forwards its trace events, answers the demo's calls.
import type { TraceEvent } from '@lcp/protocol';
import { startParty, type PartySpec, type StartedParty } from './party-kinds.js';

export type ParentMessage =
  | { type: 'start'; spec: PartySpec }
  | { type: 'call'; id: number; method: string; args: unknown[] }
  | { type: 'stop' };

export type ChildMessage =
  | { type: 'ready'; info: Record<string, string> }
  | { type: 'failed'; error: string }
  | { type: 'trace'; event: TraceEvent }
  | { type: 'result'; id: number; value?: unknown; error?: string };

if (process.send) {
  const send = (message: ChildMessage) => process.send?.(message);
  const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));
  let party: StartedParty | undefined;
  process.on('disconnect', () => void party?.close().finally(() => process.exit(0)));
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'start') {
      startParty(message.spec, (event) => send({ type: 'trace', event })).then(
        (started) => {
          party = started;
          send({ type: 'ready', info: started.info });
        },
        (error: unknown) => {
          send({ type: 'failed', error: reason(error) });
          process.exit(1);
        },
      );
    } else if (message.type === 'call') {
      const fn = party?.methods[message.method] as ((...args: unknown[]) => Promise<unknown>) | undefined;
      (fn ? fn(...message.args) : Promise.reject(new Error(`no method ${message.method}`))).then(
        (value) => send({ type: 'result', id: message.id, value }),
        (error: unknown) => send({ type: 'result', id: message.id, error: reason(error) }),
      );
    } else {
      void (party?.close() ?? Promise.resolve()).finally(() => process.exit(0));
    }
  });
}

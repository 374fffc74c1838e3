// Where the parties run: all in this process (the tests), or each in a process of its own (the
// demo, as separate programs would). Either way the flow talks to them through a PartyHandle.
import { fork, type ChildProcess } from 'node:child_process';
import type { TraceSink } from '@lcp/protocol';
import { startParty, type PartySpec } from './party-kinds.js';
import type { ChildMessage, ParentMessage } from './party-process.js';

export interface PartyHandle {
  readonly info: Record<string, string>;
  call<T>(method: string, ...args: unknown[]): Promise<T>;
  close(): Promise<void>;
}

export type PartyHost = (name: string, spec: PartySpec, onTrace: TraceSink) => Promise<PartyHandle>;

export const inProcess: PartyHost = async (_name, spec, onTrace) => {
  const party = await startParty(spec, onTrace);
  return {
    info: party.info,
    call: <T>(method: string, ...args: unknown[]) => {
      const fn = party.methods[method] as ((...a: unknown[]) => Promise<T>) | undefined;
      if (!fn) return Promise.reject(new Error(`no method ${method}`));
      return fn(...args);
    },
    close: () => party.close(),
  };
};

/** The compiled child entry; tests that run from src/ use the built one (turbo builds first). */
function childEntry(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../dist/party-process.js', here) : new URL('./party-process.js', here);
}

/** Each party in its own Node.js process (party-process.js), talking over IPC. */
export const ownProcess: PartyHost = (name, spec, onTrace) =>
  new Promise((resolve, reject) => {
    // 'advanced' serialization carries bigint, as structured clone does
    const child: ChildProcess = fork(childEntry(), [name], { serialization: 'advanced', stdio: 'inherit' });
    const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
    let next = 1;
    const send = (message: ParentMessage) => child.send(message);
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'trace') onTrace(message.event);
      else if (message.type === 'failed') reject(new Error(`${name} did not start: ${message.error}`));
      else if (message.type === 'result') {
        const waiting = pending.get(message.id);
        pending.delete(message.id);
        if (message.error === undefined) waiting?.resolve(message.value);
        else waiting?.reject(new Error(message.error));
      } else if (message.type === 'ready') {
        resolve({
          info: message.info,
          call: <T>(method: string, ...args: unknown[]) =>
            new Promise<T>((ok, fail) => {
              const id = next++;
              pending.set(id, { resolve: ok as (v: unknown) => void, reject: fail });
              send({ type: 'call', id, method, args });
            }),
          close: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              send({ type: 'stop' });
            }),
        });
      }
    });
    child.once('exit', (code) => {
      for (const waiting of pending.values()) waiting.reject(new Error(`${name} exited (${code})`));
      reject(new Error(`${name} exited before it was ready (${code})`));
    });
    send({ type: 'start', spec });
  });

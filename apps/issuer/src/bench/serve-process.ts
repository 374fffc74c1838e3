// `lcp-issuer serve` in a process of its own (the crash, scale-out, hostile and reliability
// tests, the PostgreSQL benchmark): started on a currency folder, ready once it logs
// "issuer started" with its ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// two levels below the app both as source (src/bench, the tests) and built (dist/bench)
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface LogEntry {
  level?: number;
  msg?: string;
  httpPort?: number;
  httpsPort?: number;
  err?: { message?: string };
}

export interface ServedIssuer {
  child: ChildProcess;
  httpPort: number;
  httpsPort: number;
  /** The WSDL on the plain HTTP port, under the name money.com (tests resolve it to loopback). */
  wsdlUrl: string;
  /** Resolves with the exit code once the process is gone. */
  exited: Promise<number | null>;
}

export interface ServeOptions {
  /** Added to this process's environment (LCP_* settings override the folder's issuer.env). */
  env?: Record<string, string>;
  /** Every line the process writes: its log entries (parsed when they are JSON) and, when given, its stderr. */
  onLine?: (line: string, entry: LogEntry | undefined, stream: 'stdout' | 'stderr') => void;
  /** Killed, and the start refused, if it has not started by then (default 30 s). */
  startTimeoutMs?: number;
}

export function serveIssuer(dir: string, options: ServeOptions = {}): Promise<ServedIssuer> {
  const { onLine } = options;
  const child = spawn(process.execPath, [MAIN, 'serve', '--dir', dir], {
    stdio: ['ignore', 'pipe', onLine ? 'pipe' : 'inherit'],
    env: { ...process.env, LCP_LOG_LEVEL: 'info', ...options.env },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (onLine) createInterface({ input: child.stderr! }).on('line', (line) => onLine(line, undefined, 'stderr'));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('lcp-issuer serve did not start in time'));
    }, options.startTimeoutMs ?? 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: LogEntry | undefined;
      try {
        entry = JSON.parse(line) as LogEntry;
      } catch {
        entry = undefined;
      }
      onLine?.(line, entry, 'stdout');
      if (entry?.msg !== 'issuer started' || !entry.httpPort || !entry.httpsPort) return;
      clearTimeout(timer);
      const { httpPort, httpsPort } = entry;
      resolve({ child, httpPort, httpsPort, wsdlUrl: `http://money.com:${httpPort}/lcp.wsdl`, exited });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the issuer exited before it started (${code})`));
    });
  });
}

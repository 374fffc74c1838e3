// Progress with rate and ETA. On a terminal one line is redrawn in place; elsewhere (pipes,
// CI, tests) plain lines are printed at each tenth of the way, so output stays readable.

export interface Output {
  write(text: string): void;
  /** True on a terminal: redraw in place. */
  isTTY?: boolean;
}

export interface ProgressBar {
  tick(bytes: number): void;
  done(): void;
}

const MB = 1024 * 1024;

export const formatBytes = (bytes: number): string =>
  bytes >= MB ? `${(bytes / MB).toFixed(1)} MB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${bytes} B`;

const formatSeconds = (seconds: number): string =>
  !Number.isFinite(seconds) ? '?' : seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s` : `${seconds.toFixed(0)}s`;

export function progressBar(out: Output, label: string, total: number, now: () => number = () => performance.now()): ProgressBar {
  const started = now();
  let done = 0;
  let lastTenth = -1;
  let lastDraw = 0;
  const line = (final: boolean) => {
    const elapsed = Math.max(1e-3, (now() - started) / 1000);
    const rate = done / elapsed;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const eta = final ? 0 : rate > 0 ? (total - done) / rate : Infinity;
    const bar = `[${'#'.repeat(Math.round(fraction * 20)).padEnd(20, '.')}]`;
    return `${label} ${bar} ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s ${final ? `in ${formatSeconds(elapsed)}` : `ETA ${formatSeconds(eta)}`}`;
  };
  return {
    tick(bytes: number) {
      done += bytes;
      if (out.isTTY) {
        const t = now();
        if (t - lastDraw > 100) {
          lastDraw = t;
          out.write(`\r${line(false)}`);
        }
        return;
      }
      const tenth = total > 0 ? Math.floor((done / total) * 10) : 10;
      if (tenth > lastTenth && tenth < 10) {
        lastTenth = tenth;
        out.write(`${line(false)}\n`);
      }
    },
    done() {
      out.write(`${out.isTTY ? '\r' : ''}${line(true)}\n`);
    },
  };
}

/** A plain table: a header, aligned columns, right-aligned numbers. */
export function table(rows: readonly (readonly string[])[], header: readonly string[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.,%]+( \w+)?$/.test(r[i] ?? '')));
  const render = (r: readonly string[]) =>
    r.map((cell, i) => (numeric[i] ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(render)].join('\n');
}

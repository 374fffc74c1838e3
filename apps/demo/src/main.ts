#!/usr/bin/env node
// The README's demo: replays the paper's comprehensive example (Figure 2, section 5.2) on this
// machine, narrating every step. `--transparent` replays the transparent-banking variant,
// `--figure 1` the simpler Figure 1 of section 2.4.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runFigure1 } from './figure-1.js';
import { runFigure2 } from './figure-2.js';
import { ownProcess } from './party-host.js';
import { setColor } from './narrator.js';

setColor(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
const { values } = parseArgs({
  options: {
    figure: { type: 'string', default: '2' },
    transparent: { type: 'boolean', default: false },
    out: { type: 'string', default: 'demo-output' },
  },
});

const run = async (): Promise<boolean> => {
  if (values.figure === '1') return (await runFigure1()).sum === 0n;
  const result = await runFigure2({ transparent: values.transparent, diagramDir: resolve(values.out), host: ownProcess });
  return result.delivered && result.sum === 0n && result.reconciled;
};

run().then(
  (ok) => process.exit(ok ? 0 : 1),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

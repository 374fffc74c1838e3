#!/usr/bin/env node
// The README's demo: replays the paper's example on this machine, narrating every message.
import { runFigure1 } from './figure-1.js';
import { setColor } from './narrator.js';

setColor(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);

runFigure1().then(
  (result) => process.exit(result.sum === 0n ? 0 : 1),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

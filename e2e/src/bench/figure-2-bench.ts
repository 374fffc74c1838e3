// Warm Figure 2 latency in containers: the world is started once, one purchase warms it up, then
// Alice buys the clip BENCH_RUNS times (default 5). Each run is timed from the player's start to
// its exit (steps 1 to 7), and by the containers' own records (first step to last).
// Prints the figures and writes bench-results/figure-2.json.
//   pnpm --filter @lcp/e2e bench
import { mkdir, writeFile } from 'node:fs/promises';
import setup from '../global-setup.js';
import { buyAndWatch } from '../figure-2-flow.js';
import { Figure2World } from '../figure-2-world.js';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

setup();
const started = Date.now();
const world = await Figure2World.start('bench', { perDay: String(6 * (runs + 1)) });
const startupMs = Date.now() - started;
try {
  await world.money.mint(world.ids.alice, String(6 * (runs + 1)), 'bench-funds');
  await buyAndWatch(world, 'clip'); // warm-up: connections, sessions, caches
  const player: number[] = [];
  const recorded: number[] = [];
  for (let i = 0; i < runs; i++) {
    const run = await buyAndWatch(world, 'clip');
    if (run.sha256 !== world.sha256Of('clip')) throw new Error('the bytes differ');
    player.push(run.ms);
    const at = run.arrows.map((a) => a.at);
    recorded.push(Math.max(...at) - Math.min(...at));
  }
  const sortedPlayer = [...player].sort((a, b) => a - b);
  const sortedRecorded = [...recorded].sort((a, b) => a - b);
  const result = {
    runs,
    worldStartupMs: startupMs,
    playerMs: { p50: percentile(sortedPlayer, 50), min: sortedPlayer[0], max: sortedPlayer.at(-1), all: player },
    recordedStepsMs: { p50: percentile(sortedRecorded, 50), min: sortedRecorded[0], max: sortedRecorded.at(-1), all: recorded.map((v) => Math.round(v * 10) / 10) },
  };
  console.log(`Figure 2 in containers, warm, ${runs} runs (after one warm-up):`);
  console.log(`  world start (5 containers, healthy, videos placed): ${(startupMs / 1000).toFixed(1)} s`);
  console.log(`  steps 1-7 as Alice's player saw them (docker exec included): p50 ${result.playerMs.p50} ms, min ${result.playerMs.min}, max ${result.playerMs.max}`);
  console.log(`  steps 1-7 as the containers recorded them (first to last step): p50 ${result.recordedStepsMs.p50.toFixed(1)} ms`);
  await mkdir(new URL('../../bench-results/', import.meta.url), { recursive: true });
  await writeFile(new URL('../../bench-results/figure-2.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await world.close();
}

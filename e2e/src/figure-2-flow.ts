// One purchase of Figure 2 in the containers, and what it left behind: the steps as the
// containers recorded them (W3C trace context in their logs), every balance before and after,
// the bytes Alice received.
import { childTraceparent } from '@lcp/protocol';
import { figure2Arrows, type Figure2Arrow } from '@lcp/demo';
import type { Figure2World } from './figure-2-world.js';
import { units } from './issuer-container.js';

/** Figure 2's steps by name, as the paper tells them (4' is Bob → video.com, then video.com → Alice). */
export const NAMED_STEPS = {
  negotiate: '(1)', // Alice ↔ video.com: price, currency, payee key, transactionId
  pay: '(2)', // Alice's agent → money.com: transferFunds to video.com
  awaitDeposit: '(3)', // video.com → money.com: getDeposits sees Alice's deposit
  payPeer: "(3')", // video.com → money.com: the contract's read price, for Bob
  requestRetrieval: '(4)', // video.com → Bob: retrieval instructions, please
  checkPayment: '(5)', // Bob → bank.com: has the payment for this read arrived?
  collect: '(6)', // bank.com → money.com: getDeposits, credits Bob
  instructions: "(4')", // Bob → video.com → Alice: the signed, one-read instructions
  retrieve: '(7)', // Alice → Bob: the video
} as const;

export type Balances = Record<'Alice' | 'video.com' | 'bankAtMoney' | 'Bob' | 'fees' | 'treasury' | 'bobAtBank', bigint>;

export interface Figure2Run {
  arrows: Figure2Arrow[];
  steps: string[];
  /** sha256 of the file Alice's player wrote. */
  sha256: string;
  /** The fee money.com charged Alice in step 2, as her player reported it. */
  aliceFee: bigint;
  output: string;
  startedAt: number;
  ms: number;
}

export async function balances(world: Figure2World): Promise<Balances> {
  const at = (id: string) => world.money.balance(id);
  const totals = await world.money.totals();
  return {
    Alice: await at(world.ids.alice),
    'video.com': await at(world.ids.video),
    bankAtMoney: world.options.transparent ? 0n : await at(world.bobPaidAt),
    Bob: world.options.transparent ? await at(world.bobPaidAt) : 0n,
    fees: totals.fees,
    treasury: totals.treasury,
    bobAtBank: await world.bobAtBank(),
  };
}

export function change(before: Balances, after: Balances): Balances {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof Balances]])) as Balances;
}

/** The names money.com's records use for the parties' keys. */
function names(world: Figure2World): Map<string, string> {
  return new Map([
    [world.ids.alice, 'Alice'],
    [world.ids.video, 'video.com'],
    [world.ids.bob, 'Bob'],
    [world.bobPaidAt, world.options.transparent ? 'Bob' : 'bank.com'],
  ]);
}

/** The arrows of one trace, from every container's log, ordered by when they were recorded. */
export async function recordedSteps(world: Figure2World, traceId: string): Promise<Figure2Arrow[]> {
  // Bob logs step 7 when his response has finished, which can be just after Alice has the bytes
  const until = Date.now() + 5_000;
  let arrows: Figure2Arrow[] = [];
  do {
    const events = [...world.world.parties.values()].flatMap((party) => party.traces(traceId));
    arrows = figure2Arrows(events, names(world), world.options.claire ? ['money.com', 'claire.com'] : ['money.com']);
    if (arrows.some((a) => a.step === '(7)')) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  } while (Date.now() < until);
  return arrows;
}

/** Alice buys and watches `videoId`; `during` runs beside the purchase (the restart variants). */
export async function buyAndWatch(world: Figure2World, videoId: string, options: { currency?: string; during?: (traceId: string) => Promise<void> } = {}): Promise<Figure2Run> {
  const traceparent = childTraceparent();
  const traceId = traceparent.split('-')[1] as string;
  const startedAt = Date.now();
  const [watched] = await Promise.all([world.watch(videoId, traceparent, options.currency), options.during?.(traceId)]);
  const ms = Date.now() - startedAt;
  const arrows = await recordedSteps(world, traceId);
  const fee = /\(2\) paid: success, fee ([0-9.]+)/.exec(watched.output)?.[1];
  return { arrows, steps: arrows.map((a) => a.step), sha256: watched.sha256, aliceFee: fee ? units(fee) : -1n, output: watched.output, startedAt, ms };
}

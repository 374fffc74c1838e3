// The paper's comprehensive example (section 5.2, Figure 2), replayed in containers: money.com,
// bank.com, video.com, Bob and Alice each in their own, on one network under their paper names,
// real TLS, real SOAP, real bytes. Balances are checked to the last unit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIGURE_2_ORDER } from '@lcp/demo';
import { balances, buyAndWatch, change, NAMED_STEPS, type Figure2Run } from './figure-2-flow.js';
import { Figure2World } from './figure-2-world.js';
import { units } from './issuer-container.js';

// clip: 256 KiB at price 5; Bob's read price 0.01 per KiB is 2.56; money.com's fee on that
// transfer (1.5%, or 1.2% on a resumed session) rounds up to 0.04 either way
const PRICE = units('5');
const READ_PRICE = units('2.56');
const READ_FEE = units('0.04');

/** Each named action of Figure 2 happened, between the parties the paper names, in its order. */
function expectFigure2(run: Figure2Run, payIssuer = 'money.com'): void {
  const who = (step: string) => run.arrows.filter((a) => a.step === step).map((a) => `${a.from} → ${a.to}`);
  expect(who(NAMED_STEPS.negotiate)).toEqual(['Alice → video.com']);
  expect(who(NAMED_STEPS.pay)).toEqual([`Alice → ${payIssuer}`]);
  expect(who(NAMED_STEPS.awaitDeposit)).toEqual([`video.com → ${payIssuer}`]);
  expect(who(NAMED_STEPS.payPeer)).toEqual(['video.com → money.com']);
  expect(who(NAMED_STEPS.requestRetrieval)).toEqual(['video.com → Bob']);
  expect(who(NAMED_STEPS.checkPayment)).toEqual(['Bob → bank.com']);
  expect(who(NAMED_STEPS.collect)).toEqual(['bank.com → money.com']);
  expect(who(NAMED_STEPS.instructions)).toEqual(['Bob → video.com', 'video.com → Alice']);
  expect(who(NAMED_STEPS.retrieve)).toEqual(['Alice → Bob']);
  expect(run.steps).toEqual(FIGURE_2_ORDER);
}

describe('Figure 2 with opaque banking (Bob is bob@bank.com)', () => {
  let world: Figure2World;
  beforeAll(async () => {
    world = await Figure2World.start('figure-2');
  });
  afterAll(() => world?.close());

  it('replays section 5.2: the bytes, every balance, the bank, and the order of the steps', async () => {
    const before = await balances(world);
    const run = await buyAndWatch(world, 'clip');
    expect(run.sha256).toBe(world.sha256Of('clip'));
    expectFigure2(run);
    const moved = change(before, await balances(world));
    expect(run.aliceFee).toBeGreaterThan(0n);
    expect(moved.Alice).toBe(-(PRICE + run.aliceFee));
    expect(moved['video.com']).toBe(PRICE - READ_PRICE - READ_FEE);
    expect(moved.bankAtMoney).toBe(READ_PRICE); // bank.com's key at money.com, for bob@bank.com
    expect(moved.bobAtBank).toBe(READ_PRICE); // Bob's sub-account at bank.com
    expect(moved.fees).toBe(run.aliceFee + READ_FEE);
    expect(await world.money.sum()).toBe(0n);
    expect(await world.bankReconciles(Date.now())).toBe(true);
  });

  it('money.com restarts between steps 2 and 3: nothing acknowledged is lost, nothing is doubled', async () => {
    await world.money.mint(world.ids.alice, '10', 'alice-top-up-1');
    const before = await balances(world);
    const run = await buyAndWatch(world, 'clip', {
      during: async (traceId) => {
        await waitFor(() => world.money.party.traces(traceId).some((e) => e.what.startsWith('transferFunds received: buy-')));
        await world.money.party.restart();
      },
    });
    expect(run.sha256).toBe(world.sha256Of('clip'));
    const moved = change(before, await balances(world));
    expect(moved.Alice).toBe(-(PRICE + run.aliceFee));
    expect(moved['video.com']).toBe(PRICE - READ_PRICE - READ_FEE);
    expect(moved.bobAtBank).toBe(READ_PRICE);
    expect(await world.money.sum()).toBe(0n);
    expect(await world.bankReconciles(Date.now())).toBe(true);
  });

  it("Bob's container restarts between steps 4 and 7: the flow completes or fails cleanly, and no one pays twice", async () => {
    await world.money.mint(world.ids.alice, '10', 'alice-top-up-2');
    const before = await balances(world);
    let failure: Error | undefined;
    const run = await buyAndWatch(world, 'clip', {
      during: async (traceId) => {
        await waitFor(() => world.bob.traces(traceId).some((e) => e.what === 'retrieval instructions answered'));
        await world.bob.restart();
      },
    }).catch((error: Error) => {
      failure = error;
      return undefined;
    });
    if (run) expect(run.sha256).toBe(world.sha256Of('clip'));
    else expect(failure?.message).toMatch(/Alice's player exited 1/);
    const moved = change(before, await balances(world));
    // Alice paid once (at most the price and its fee); Bob was paid one read, once
    expect(moved.Alice).toBeLessThan(0n);
    expect(-moved.Alice).toBeLessThanOrEqual(PRICE + units('0.08'));
    expect(moved.bobAtBank).toBe(READ_PRICE);
    expect(moved['video.com']).toBe(PRICE - READ_PRICE - READ_FEE);
    expect(await world.money.sum()).toBe(0n);
  });
});

describe('Figure 2 with transparent banking', () => {
  let world: Figure2World;
  beforeAll(async () => {
    world = await Figure2World.start('transparent', { transparent: true });
  });
  afterAll(() => world?.close());

  it("step 3' pays Bob's own key, which bank.com keeps for him", async () => {
    const before = await balances(world);
    const run = await buyAndWatch(world, 'clip');
    expect(run.sha256).toBe(world.sha256Of('clip'));
    expectFigure2(run);
    const moved = change(before, await balances(world));
    expect(moved.Bob).toBe(READ_PRICE);
    expect(moved.bobAtBank).toBe(READ_PRICE);
    expect(moved['video.com']).toBe(PRICE - READ_PRICE - READ_FEE);
    expect(await world.money.sum()).toBe(0n);
    expect(await world.bankReconciles(Date.now())).toBe(true);
  });
});

describe('Figure 2 with a second issuer', () => {
  let world: Figure2World;
  beforeAll(async () => {
    world = await Figure2World.start('claire', { claire: true });
  });
  afterAll(() => world?.close());

  it('Alice pays in claire.com dollars; video.com still pays Bob in money.com dollars', async () => {
    const claire = world.claire as NonNullable<typeof world.claire>;
    const aliceBefore = await claire.balance(world.ids.alice);
    const videoBefore = await claire.balance(world.ids.video);
    const before = await balances(world);
    const run = await buyAndWatch(world, 'clip', { currency: 'http://claire.com/lcp.wsdl' });
    expect(run.sha256).toBe(world.sha256Of('clip'));
    expectFigure2(run, 'claire.com');
    expect(await claire.balance(world.ids.alice)).toBe(aliceBefore - PRICE - run.aliceFee);
    expect(await claire.balance(world.ids.video)).toBe(videoBefore + PRICE);
    const moved = change(before, await balances(world));
    expect(moved.Alice).toBe(0n); // nothing moved at money.com for Alice
    expect(moved['video.com']).toBe(-(READ_PRICE + READ_FEE));
    expect(moved.bobAtBank).toBe(READ_PRICE);
    expect(await world.money.sum()).toBe(0n);
    expect(await claire.sum()).toBe(0n);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting for a step');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

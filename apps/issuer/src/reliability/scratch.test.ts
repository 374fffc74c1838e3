import { it } from 'vitest';
import { connectHolder, newHolder, startTestIssuer } from '../test-support.js';
import { FaultProxy } from './test-proxy.js';

it('traces', async () => {
  const proxy = await FaultProxy.start();
  const t = await startTestIssuer({ LCP_PUBLIC_URL: `https://money.com:${proxy.port}/lcp` });
  proxy.upstreamPort = t.issuer.httpsPort;
  const t0 = Date.now();
  proxy.trace = (l) => console.log(Date.now() - t0, l);
  const [a, b] = await Promise.all([newHolder(), newHolder()]);
  await t.issuer.ledger.mint(a.id, 100000n, 'f');
  const ca = await connectHolder(t, a, { onMessage: (m) => console.log(Date.now() - t0, m.direction, m.xml?.length) });
  for (let i = 0; i < 3; i++) console.log(await ca.transferFunds({ recipient: b.id, amount: 10n, transactionId: 't' + i }));
  console.log(await ca.getDeposits({ millisecondsWait: 0 }));
  ca.close();
  const cb = await connectHolder(t, a);
  console.log(await cb.transferFunds({ recipient: b.id, amount: 10n, transactionId: 'x' }));
  cb.close();
  await t.stop();
  await proxy.close();
}, 20000);

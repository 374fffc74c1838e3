#!/usr/bin/env node
// Alice's media player: buys a video from a publisher through the local agent and saves it.
//   node apps/player/dist/main.js --publisher https://video.com --video clip \
//     --currency http://money.com/lcp.wsdl --agent http://127.0.0.1:7468 --token $TOKEN \
//     --cert ~/.lcp/agent/cert.pem --key ~/.lcp/agent/identity.pem [--ca ca.pem] [--out clip.bin] [--traceparent 00-...]
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { AgentClient } from '@lcp/agent';
import { buyVideo } from './buy-video.js';

const { values } = parseArgs({
  options: {
    publisher: { type: 'string' },
    video: { type: 'string' },
    currency: { type: 'string' },
    agent: { type: 'string', default: 'http://127.0.0.1:7468' },
    token: { type: 'string', default: process.env.LCP_PLAYER_TOKEN ?? '' },
    cert: { type: 'string' },
    key: { type: 'string' },
    ca: { type: 'string' },
    out: { type: 'string' },
    /** W3C trace context to follow the purchase across the services (the e2e suite sets it). */
    traceparent: { type: 'string' },
  },
});

const bar = (percent: number) => `[${'#'.repeat(Math.round(percent / 5)).padEnd(20, '.')}]`;

async function main(): Promise<void> {
  const missing = ['publisher', 'video', 'currency', 'token', 'cert', 'key'].filter((name) => !values[name as keyof typeof values]);
  if (missing.length > 0) throw new Error(`missing: ${missing.map((m) => `--${m}`).join(' ')}`);
  const started = Date.now();
  const { bytes } = await buyVideo({
    publisher: values.publisher as string,
    videoId: values.video as string,
    currency: values.currency as string,
    agent: new AgentClient({ url: values.agent as string, token: values.token as string }),
    credentials: { certPem: await readFile(values.cert as string, 'utf8'), keyPem: await readFile(values.key as string, 'utf8') },
    ...(values.ca ? { caPem: await readFile(values.ca, 'utf8') } : {}),
    ...(values.traceparent ? { traceparent: values.traceparent } : {}),
    onProgress: (p) => {
      const at = `${((Date.now() - started) / 1000).toFixed(2)}s`;
      if (p.step === '1') console.log(`${at} (1) price ${p.price}, transactionId ${p.transactionId}`);
      if (p.step === '2') console.log(`${at} (2) paid: ${p.result}, fee ${p.fee}`);
      if (p.step === "4'") console.log(`${at} (4') instructions: ${p.size} bytes at ${p.url}`);
      if (p.step === 'download') {
        const percent = Math.floor((100 * p.received) / Math.max(p.size, 1));
        process.stdout.write(`\r${at} (7) ${bar(percent)} ${percent}% of ${p.size} bytes`);
        if (p.received >= p.size) process.stdout.write('\n');
      }
      if (p.step === '7') console.log(`${at} (7) received ${p.bytes} bytes, sha256 ${p.sha256} verified`);
    },
  });
  if (values.out) await writeFile(values.out, bytes);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

import tls from 'node:tls';
import net from 'node:net';
import { afterAll, beforeAll, it } from 'vitest';
import { newHolder, startTestIssuer, type TestHolder, type TestIssuer } from '../test-support.js';

let t: TestIssuer; let h: TestHolder;
beforeAll(async () => { t = await startTestIssuer(); h = await newHolder(); }, 20000);
afterAll(() => t.stop());

it('slowloris + big body', async () => {
  const t0 = performance.now();
  const slow = new Promise<string>((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: t.issuer.httpsPort, servername: 'money.com', ca: t.ca.certPem, cert: h.certPem, key: h.keyPem }, () => {
      const text = 'POST /lcp HTTP/1.1\r\nHost: money.com\r\nX-Pad: ' + 'a'.repeat(200);
      let i = 0;
      const timer = setInterval(() => { if (i < text.length) s.write(text[i++]!); }, 500);
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => { clearInterval(timer); resolve(`closed after ${Math.round(performance.now() - t0)} ms, sent ${i} bytes, got ${JSON.stringify(got)}`); });
      s.on('error', () => {});
    });
  });
  const tcp = new Promise<string>((resolve) => {
    const s = net.connect(t.issuer.httpsPort, '127.0.0.1', () => s.write('\x16\x03\x01'));
    s.on('close', () => resolve(`tcp closed after ${Math.round(performance.now() - t0)} ms`));
    s.on('error', () => {});
  });
  // 50 MB chunked
  const big = await new Promise<string>((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: t.issuer.httpsPort, servername: 'money.com', ca: t.ca.certPem, cert: h.certPem, key: h.keyPem }, async () => {
      s.write('POST /lcp HTTP/1.1\r\nHost: money.com\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n');
      let got = ''; let closed = false; let written = 0; let err = '';
      const rss0 = process.memoryUsage().rss;
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => (closed = true));
      s.on('error', (e) => (err = e.message));
      const chunk = Buffer.alloc(256 * 1024, 0x61);
      const head = Buffer.from(chunk.length.toString(16) + '\r\n');
      const start = performance.now();
      while (!closed && written < 50 * 1024 * 1024 && performance.now() - start < 8000) {
        const ok = s.write(Buffer.concat([head, chunk, Buffer.from('\r\n')]));
        written += chunk.length;
        if (!ok) await new Promise((r) => { s.once('drain', r); setTimeout(r, 200); });
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 200));
      resolve(`big: written ${written} closed=${closed} err=${err} in ${Math.round(performance.now() - start)} ms; rss delta ${(process.memoryUsage().rss - rss0) / 1e6} MB; got ${JSON.stringify(got.slice(0, 200))}`);
      s.destroy();
    });
  });
  console.log(big);
  console.log(await tcp);
  console.log(await slow);
}, 60000);

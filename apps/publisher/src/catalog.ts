// video.com's catalog: videos on disk with prices in one or more currencies.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { parseAmount } from '@lcp/protocol';

const catalogSchema = z.object({
  currencies: z.array(z.object({ wsdl: z.url(), scale: z.number().int().min(0).max(18) })).min(1),
  videos: z
    .array(
      z.object({
        id: z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/),
        title: z.string().min(1).max(200),
        file: z.string().min(1),
        /** Price per currency (by WSDL URL), as a decimal. */
        prices: z.record(z.string(), z.string()),
        /** Storage peers that should hold the video: placed at start where it is not yet. */
        peers: z.array(z.object({ url: z.url({ protocol: /^https$/ }), nodeId: z.string().regex(/^[0-9a-f]{64}$/) })).default([]),
      }),
    )
    .min(1),
});

export interface Currency {
  wsdl: string;
  scale: number;
}

export interface Video {
  id: string;
  title: string;
  bytes: Buffer;
  size: number;
  sha256: string;
  /** Minor units, by currency WSDL URL. */
  prices: Map<string, bigint>;
  /** Where the catalog asks for the video to be stored. */
  peers: { url: string; nodeId: string }[];
}

export interface Catalog {
  currencies: Currency[];
  videos: Map<string, Video>;
}

export async function loadCatalog(path: string): Promise<Catalog> {
  const parsed = catalogSchema.parse(JSON.parse(await readFile(path, 'utf8')));
  const scaleOf = new Map(parsed.currencies.map((c) => [c.wsdl, c.scale]));
  const videos = new Map<string, Video>();
  for (const v of parsed.videos) {
    const bytes = await readFile(isAbsolute(v.file) ? v.file : join(dirname(path), v.file));
    const prices = new Map<string, bigint>();
    for (const [wsdl, decimal] of Object.entries(v.prices)) {
      const scale = scaleOf.get(wsdl);
      const amount = scale === undefined ? undefined : parseAmount(decimal, scale);
      if (!amount?.ok || amount.value === 0n) throw new Error(`catalog: video ${v.id} has a bad price in ${wsdl}`);
      prices.set(wsdl, amount.value);
    }
    videos.set(v.id, {
      id: v.id,
      title: v.title,
      bytes,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      prices,
      peers: v.peers,
    });
  }
  return { currencies: parsed.currencies, videos };
}

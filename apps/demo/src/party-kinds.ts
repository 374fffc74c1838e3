// How each kind of party of Figure 2 is started, what it tells the others once it runs, and
// the few things the demo asks of it (mint, sign up a customer, place a video, balances).
// The same code runs in the demo's own process (tests) or in a process of its own (the demo).
import { readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import { loopbackLookup as lookup } from '@lcp/client';
import { parseConfig as agentConfig, startAgent } from '@lcp/agent';
import { parseConfig as bankConfig, startBank } from '@lcp/bank';
import { loadCurrency, startIssuer } from '@lcp/issuer';
import type { EntityId, TraceSink } from '@lcp/protocol';
import { parseConfig as publisherConfig, startPublisher } from '@lcp/publisher';
import { parseConfig as storageConfig, startStorageNode } from '@lcp/storage-node';
import { pino } from 'pino';

export type PartyKind = 'issuer' | 'bank' | 'storage-node' | 'agent' | 'publisher';

export interface PartySpec {
  kind: PartyKind;
  /** The issuer's currency folder, or the bank's env file; the others take `env`. */
  path?: string;
  env?: Record<string, string>;
}

export interface StartedParty {
  /** What the others need to know: addresses and keys. */
  info: Record<string, string>;
  methods: Record<string, (...args: never[]) => Promise<unknown>>;
  close(): Promise<void>;
}

const quiet = pino({ level: 'warn' });

export async function startParty(spec: PartySpec, onTrace: TraceSink): Promise<StartedParty> {
  switch (spec.kind) {
    case 'issuer': {
      const money = await startIssuer(await loadCurrency(spec.path as string), { logger: quiet, onTrace });
      return {
        info: { wsdlUrl: money.wsdlUrl, serviceUrl: money.serviceUrl, treasury: money.treasury },
        methods: {
          mint: (to: string, amount: bigint, transactionId: string) => money.ledger.mint(to as EntityId, amount, transactionId),
          balance: (account: string) => money.ledger.balance(account),
          totals: () => money.ledger.totals(),
        },
        close: () => money.close(),
      };
    }
    case 'bank': {
      const env = parseEnv(await readFile(spec.path as string, 'utf8')) as Record<string, string>;
      const bank = await startBank(bankConfig(env), { lookup, logger: quiet });
      const wsdl = (JSON.parse(env.LCP_BANK_CURRENCIES ?? '[]') as { wsdl: string }[])[0]?.wsdl ?? '';
      return {
        info: { url: bank.url, entityId: bank.entityIdAt(wsdl), nameOfBob: bank.nameFor('bob') },
        methods: {
          /** Signs up a customer and returns its id and a token for its storage node. */
          signUp: async (name: string, password: string, transparent: boolean) => {
            const customer = await bank.bank.customers.signUp({ name, password, kind: transparent ? 'transparent' : 'opaque' });
            if (!('id' in customer)) throw new Error(`bank.com refused ${name}: ${JSON.stringify(customer)}`);
            if (transparent) await bank.bank.startTransparent(customer);
            const token = bank.bank.tokens.create(customer.id, `${name}'s storage node`, ['payments:read'], []).secret;
            return { token };
          },
          balanceOf: async (name: string) => {
            const customer = bank.bank.customers.byName(name);
            return customer ? bank.bank.balances(customer).reduce((sum, b) => sum + b.balance, 0n) : 0n;
          },
          reconciled: async () => {
            const report = await bank.reconcile();
            return report.ledger.balanced && report.holders.every((h) => h.status === 'ok');
          },
        },
        close: () => bank.close(),
      };
    }
    case 'storage-node': {
      const node = await startStorageNode(storageConfig(spec.env ?? {}), { lookup, logger: quiet, onTrace });
      return { info: { url: node.url, nodeId: node.nodeId, payTo: node.payTo.entityId }, methods: {}, close: () => node.close() };
    }
    case 'agent': {
      const config = agentConfig(spec.env ?? {});
      const agent = await startAgent(config, { lookup, logger: quiet, onTrace });
      return {
        info: { url: agent.url, entityId: agent.entityId, certificatePath: config.certificatePath, identityKeyPath: config.identityKeyPath },
        methods: {},
        close: () => agent.close(),
      };
    }
    case 'publisher': {
      const video = await startPublisher(publisherConfig(spec.env ?? {}), { lookup, logger: quiet, onTrace });
      return {
        info: { url: video.url, entityId: video.entityId },
        methods: { placeVideo: (videoId: string, url: string, nodeId: string) => video.placeVideo(videoId, { url, nodeId }) },
        close: () => video.close(),
      };
    }
  }
}

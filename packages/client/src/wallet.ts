// One identity, many currencies: a wallet keeps an IssuerClient per issuer, each with its
// own saved counter and inbox under the wallet's folder.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { FileStateStore, MemoryStateStore } from './holder-state.js';
import { IssuerClient, type HolderCredentials, type IssuerClientOptions } from './issuer-client.js';

export interface WalletOptions {
  credentials: HolderCredentials;
  /** Folder for per-issuer state; in memory when omitted. */
  dir?: string;
  caPem?: string;
  lookup?: IssuerClientOptions['lookup'];
  onMessage?: IssuerClientOptions['onMessage'];
}

export class Wallet {
  readonly #clients = new Map<string, Promise<IssuerClient>>();

  constructor(readonly options: WalletOptions) {}

  /** The client for the issuer whose WSDL is at `wsdlUrl`, connected once and reused. */
  issuer(wsdlUrl: string, options: Pick<IssuerClientOptions, 'scale' | 'timeoutMs' | 'retries'> = {}): Promise<IssuerClient> {
    let client = this.#clients.get(wsdlUrl);
    if (!client) {
      const key = createHash('sha256').update(wsdlUrl).digest('hex').slice(0, 16);
      const { credentials, caPem, lookup, onMessage, dir } = this.options;
      client = IssuerClient.connect({
        wsdlUrl,
        credentials,
        state: dir ? new FileStateStore(join(dir, 'issuers', `${key}.json`)) : new MemoryStateStore(),
        ...(caPem ? { caPem } : {}),
        ...(lookup ? { lookup } : {}),
        ...(onMessage ? { onMessage } : {}),
        ...options,
      });
      client.catch(() => this.#clients.delete(wsdlUrl));
      this.#clients.set(wsdlUrl, client);
    }
    return client;
  }

  async close(): Promise<void> {
    const clients = await Promise.allSettled(this.#clients.values());
    for (const c of clients) if (c.status === 'fulfilled') c.value.close();
    this.#clients.clear();
  }
}

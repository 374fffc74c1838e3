// An issuer (money.com, claire.com) in a container: its folder made by the app's own init, a CA
// of the run's signing its certificate, and the admin CLI run inside the container.
import { join } from 'node:path';
import type { CertificateAuthority } from '@lcp/crypto';
import { initCurrency } from '@lcp/issuer';
import { parseSignedAmount } from '@lcp/protocol';
import type { Party, World } from './containers.js';

export const ISSUER_IMAGE = 'lcp/issuer:dev';
/** Every currency of the suite has two decimals. */
export const SCALE = 2;

/** A decimal as the CLI prints it (the treasury's is negative) in minor units. */
export const units = (decimal: string): bigint => {
  const parsed = parseSignedAmount(decimal, SCALE);
  if (!parsed.ok) throw new Error(`${decimal}: ${parsed.reason}`);
  return parsed.value;
};

/** An issuer's container and the ids the suite needs. */
export class Issuer {
  constructor(
    readonly party: Party,
    readonly treasury: string,
  ) {}

  get domain(): string {
    return this.party.name;
  }

  async cli(...args: string[]): Promise<string> {
    return this.party.exec(['node', 'dist/main.js', ...args]);
  }

  async mint(to: string, amount: string, transactionId: string): Promise<void> {
    await this.cli('mint', '--to', to, '--amount', amount, '--transaction-id', transactionId);
  }

  async balance(account: string): Promise<bigint> {
    return units(await this.cli('balance', '--account', account));
  }

  /** `lcp-issuer totals`: the sum of every balance (zero), the treasury's and the fee account's. */
  async totals(): Promise<{ sum: bigint; treasury: bigint; fees: bigint }> {
    const line = await this.cli('totals');
    const field = (name: string) => units(new RegExp(`${name} (\\S+)`).exec(line)?.[1] ?? 'missing');
    return { sum: field('sum'), treasury: field('treasury'), fees: field('fees') };
  }

  async sum(): Promise<bigint> {
    return (await this.totals()).sum;
  }
}

/** Starts `domain`'s issuer (HTTPS 443, WSDL on 80 at http://<domain>/lcp.wsdl) on the world's network. */
export async function startIssuer(world: World, work: string, ca: CertificateAuthority, domain: string): Promise<Issuer> {
  const dir = join(work, domain);
  const { treasury } = await initCurrency({
    dir,
    domain,
    ca,
    settings: { LCP_HOST: '0.0.0.0', LCP_HTTPS_PORT: '443', LCP_HTTP_PORT: '80', LCP_PUBLIC_URL: `https://${domain}/lcp` },
  });
  const party = await world.start({ image: ISSUER_IMAGE, name: domain, data: dir });
  return new Issuer(party, treasury);
}

// The load generator's holders: a key, a self-signed certificate for it, one client SecureContext
// (building one per connection would cost more than the handshake), and the next messageCounter.
import type { SecureContext } from 'node:tls';
import { clientSecureContext, createHolderCertificate, generateIdentity, privateKeyPem } from '@lcp/crypto';

export interface BenchHolder {
  id: string;
  context: SecureContext;
  /** The last messageCounter this holder used; every scenario continues from it. */
  counter: number;
}

export async function newHolder(caPem: string): Promise<BenchHolder> {
  const identity = generateIdentity();
  const certPem = await createHolderCertificate(identity);
  return { id: identity.id, context: clientSecureContext({ certPem, keyPem: privateKeyPem(identity), caPem }), counter: 0 };
}

export function newHolders(caPem: string, count: number): Promise<BenchHolder[]> {
  return Promise.all(Array.from({ length: count }, () => newHolder(caPem)));
}

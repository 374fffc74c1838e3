// The issuer's own test helpers: the shared fixtures (testing.ts) plus bare node-soap access.
import https from 'node:https';
import * as soap from 'soap';
import type { TestHolder, TestIssuer } from './testing.js';
import { loopback } from './testing.js';

export * from './testing.js';

/**
 * A bare node-soap client for tests that must control every element (counters, bad values).
 * `keepAlive: false` makes each request a new TLS connection, which resumes the cached session.
 */
export async function rawClient(
  t: TestIssuer,
  holder: TestHolder | undefined,
  agentOptions: https.AgentOptions = {},
): Promise<{ client: soap.Client; agent: https.Agent }> {
  const agent = new https.Agent({
    ca: t.ca.certPem,
    lookup: loopback,
    ...(holder ? { cert: holder.certPem, key: holder.keyPem } : {}),
    ...agentOptions,
  });
  const client = await soap.createClientAsync(t.issuer.wsdlUrl, {
    wsdl_options: { httpAgent: new (await import('node:http')).Agent({ lookup: loopback }) },
  });
  client.setSecurity({ addOptions: (o: Record<string, unknown>) => void (o.httpsAgent = agent), toXML: () => '' });
  return { client, agent };
}

/** The SOAP fault code (e.g. soap:Client.counterReused) a rejected node-soap call carried. */
export async function faultOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    const fault = (error as { root?: { Envelope?: { Body?: { Fault?: { faultcode?: string } } } } }).root?.Envelope
      ?.Body?.Fault;
    if (fault?.faultcode) return String(fault.faultcode);
    throw error;
  }
  throw new Error('expected a SOAP fault, got a response');
}

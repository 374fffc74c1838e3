import { FAULTS, type FaultCode } from '@lcp/protocol';

/** The issuer refused the request with a SOAP fault; nothing changed at the issuer. */
export class LcpFaultError extends Error {
  override name = 'LcpFaultError';
  constructor(
    /** Our stable code, or undefined for a fault that is not LCP's (e.g. from node-soap itself). */
    readonly code: FaultCode | undefined,
    readonly faultcode: string,
    message: string,
  ) {
    super(message);
  }

  /** Server-side faults, and a temporary connection limit, may be retransmitted with the same counter. */
  get retryable(): boolean {
    return this.code !== undefined && (FAULTS[this.code].side === 'Server' || this.code === 'tooManyConnections');
  }
}

/** The issuer could not be reached, or the answer was lost: retransmit with the same counter. */
export class LcpNetworkError extends Error {
  override name = 'LcpNetworkError';
}

/** The issuer answered something this client cannot read as an LCP response. */
export class LcpProtocolError extends Error {
  override name = 'LcpProtocolError';
}

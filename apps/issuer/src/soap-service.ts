// The two LCP operations as node-soap service methods: decode and validate with the
// protocol codecs, ask the ledger, encode the answer. Any fault thrown here has a stable
// code; anything unexpected becomes `internal` without details.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  LCP_PORT,
  LCP_SERVICE,
  decodeGetDepositsRequest,
  decodeTransferFundsRequest,
  encodeGetDepositsResponse,
  encodeTransferFundsResponse,
  parseTraceparent,
  traceClock,
  type LcpOperation,
  type TraceSink,
} from '@lcp/protocol';
import { LedgerClosedError, StoreUnavailableError, type IssuerLedger } from '@lcp/issuer-core';
import type { ConnectionInfo, ConnectionTracker } from './connections.js';
import { isSoapFault, soapFault } from './faults.js';
import type { Logger } from './logger.js';

export type ServiceMethod = (
  args: unknown,
  callback: unknown,
  headers: unknown,
  req: IncomingMessage,
  res: ServerResponse,
) => Promise<unknown>;

function connectionOf(connections: ConnectionTracker, req: IncomingMessage): ConnectionInfo & { holder: string } {
  const info = connections.get(req.socket as TLSSocket);
  if (!info?.holder) throw soapFault('noClientCertificate', '');
  if (info.overLimit) throw soapFault('tooManyConnections', '');
  return info as ConnectionInfo & { holder: string };
}

export type LcpOperations = Record<LcpOperation, ServiceMethod>;

/** The two operations, each turning anything unexpected into the `internal` fault. */
export function lcpOperations(
  ledger: IssuerLedger,
  connections: ConnectionTracker,
  log: Logger,
  trace?: { party: string; sink: TraceSink },
): LcpOperations {
  const { scale } = ledger.settings;

  /** Records a traced request (one carrying a W3C traceparent) as the issuer saw it. */
  const record = (req: IncomingMessage, holder: string, what: string): void => {
    const context = trace && parseTraceparent(req.headers.traceparent as string | undefined);
    if (!trace || !context) return;
    trace.sink({ ...context, party: trace.party, peer: holder, what, at: traceClock() });
  };

  const guarded =
    (operation: LcpOperation, method: ServiceMethod): ServiceMethod =>
    async (args, callback, headers, req, res) => {
      try {
        return await method(args, callback, headers, req, res);
      } catch (error) {
        if (isSoapFault(error)) throw error;
        if (error instanceof LedgerClosedError) throw soapFault('unavailable', 'the issuer is shutting down; retransmit with the same counter');
        if (error instanceof StoreUnavailableError) {
          log.warn({ err: error, operation }, 'database unavailable');
          throw soapFault('unavailable', 'the ledger database is unavailable; retransmit with the same counter');
        }
        log.error({ err: error, operation }, 'operation failed');
        throw soapFault('internal', '');
      }
    };

  const transferFunds: ServiceMethod = async (args, _callback, _headers, req) => {
    const connection = connectionOf(connections, req);
    const decoded = decodeTransferFundsRequest(args, scale);
    if (!decoded.ok) throw soapFault(decoded.fault, decoded.detail);
    record(req, connection.holder, `transferFunds received: ${decoded.value.transactionId}`);
    const outcome = await ledger.transfer({
      sender: connection.holder as never,
      request: decoded.value,
      // the paper's incentive: no full handshake was paid for this request
      resumed: connection.resumed || connection.requests > 1,
    });
    if ('fault' in outcome) throw soapFault(outcome.fault, outcome.detail);
    record(req, connection.holder, `transferFunds committed: ${outcome.response.result}`);
    return encodeTransferFundsResponse(outcome.response, scale);
  };

  const getDeposits: ServiceMethod = async (args, _callback, _headers, req, res) => {
    const connection = connectionOf(connections, req);
    const decoded = decodeGetDepositsRequest(args);
    if (!decoded.ok) throw soapFault(decoded.fault, decoded.detail);
    record(req, connection.holder, 'getDeposits received');
    const gone = new AbortController();
    res.once('close', () => gone.abort()); // the holder hung up: stop waiting
    const outcome = await ledger.getDeposits(connection.holder as never, decoded.value, gone.signal);
    if ('fault' in outcome) throw soapFault(outcome.fault, outcome.detail);
    record(req, connection.holder, `getDeposits answered: ${outcome.deposits.map((d) => d.transactionId).join(', ') || 'none'}`);
    return encodeGetDepositsResponse(outcome, scale);
  };

  return { transferFunds: guarded('transferFunds', transferFunds), getDeposits: guarded('getDeposits', getDeposits) };
}

/** The operations as node-soap's services object (the reference path). */
export function soapServices(operations: LcpOperations) {
  return { [LCP_SERVICE]: { [LCP_PORT]: operations } };
}

import { createSecureContext, type SecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';

/** A key, the certificate for it, and optionally the CA certificate(s) to trust instead of the system roots. */
export interface TlsMaterial {
  readonly keyPem: string;
  readonly certPem: string;
  readonly caPem?: string | readonly string[];
}

// OpenSSL will not resume a session on a connection that requests a client certificate unless the
// context has a session id context. tls.Server derives one from process.argv, but a context from
// serverSecureContext may be used without tls.Server, so both paths set the same fixed value.
const SESSION_ID_CONTEXT = 'lcp';

function contextOptions(material: TlsMaterial): SecureContextOptions {
  return {
    key: material.keyPem,
    cert: material.certPem,
    ...(material.caPem === undefined ? {} : { ca: typeof material.caPem === 'string' ? material.caPem : [...material.caPem] }),
    // TLS 1.3 is negotiated whenever both ends have it; 1.2 is the floor.
    minVersion: 'TLSv1.2',
  };
}

/**
 * Options for tls.createServer / https.createServer on an LCP server. Node builds one shared
 * SecureContext from them when the server is created and reuses it for every connection.
 *
 * Client certificates are requested but not chain-validated: holders present self-signed
 * certificates, and their identity is the key itself (see entityIdFromSocket). `socket.authorized`
 * still tells whether a peer's certificate chains to `caPem` (e.g. a bank with a CA-signed cert).
 *
 * Use this rather than `{ secureContext: serverSecureContext(...) }`: tls.Server ignores the
 * secureContext option and would start with no certificate at all.
 */
export function serverTlsOptions(material: TlsMaterial): TlsOptions {
  return {
    ...contextOptions(material),
    sessionIdContext: SESSION_ID_CONTEXT,
    requestCert: true,
    rejectUnauthorized: false,
  };
}

/**
 * One SecureContext for the server side of connections accepted outside tls.Server: pass it to
 * `new tls.TLSSocket(socket, { isServer: true, secureContext, requestCert: true })` or return it from
 * an SNICallback. (tls.createServer ignores a secureContext option; use serverTlsOptions there.)
 */
export function serverSecureContext(material: TlsMaterial): SecureContext {
  return createSecureContext({ ...contextOptions(material), sessionIdContext: SESSION_ID_CONTEXT });
}

/**
 * One SecureContext for outgoing connections, presenting this certificate as the client certificate.
 * Build it once and pass it as `secureContext` to every tls.connect / https.request: creating a
 * context parses keys and loads the trust store, which is far more expensive than a handshake.
 * Without `caPem` the system's root CAs are trusted; with it, only `caPem` is.
 */
export function clientSecureContext(material: TlsMaterial): SecureContext {
  return createSecureContext(contextOptions(material));
}

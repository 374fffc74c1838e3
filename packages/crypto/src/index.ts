export { entityIdOf, isEntityId, publicKeyFromEntityId } from './entity-id.js';
export { generateIdentity, identityFromPem, identityFromPrivateKey, privateKeyPem, type Identity } from './identity.js';
export {
  IdentityFileError,
  loadIdentity,
  loadOrCreateIdentity,
  saveIdentity,
  type IdentityFileErrorCode,
  type SaveIdentityOptions,
} from './identity-file.js';
export { createHolderCertificate, type HolderCertificateOptions } from './holder-certificate.js';
export {
  createCertificateAuthority,
  loadCertificateAuthority,
  type CertificateAuthority,
  type CertificateAuthorityOptions,
} from './certificate-authority.js';
export {
  issueServerCertificate,
  type IssuedCertificate,
  type ServerCertificateOptions,
} from './server-certificate.js';
export { clientSecureContext, serverSecureContext, serverTlsOptions, type TlsMaterial } from './tls-context.js';
export { entityIdFromPeerCertificate, entityIdFromSocket } from './peer-identity.js';
export { createCertificateRequest } from './certificate-request.js';

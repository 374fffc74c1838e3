import { expect, it } from 'vitest';
import { x509 } from './x509-provider.js';
import { createCertificateRequest } from './certificate-request.js';
import { entityIdOf } from './entity-id.js';
import { generateIdentity } from './identity.js';

it('makes a signed CSR for the identity key naming the domain', async () => {
  const identity = generateIdentity();
  const pem = await createCertificateRequest(identity, ['money.com']);
  const request = new x509.Pkcs10CertificateRequest(pem);
  expect(await request.verify()).toBe(true);
  expect(request.subject).toBe('CN=money.com');
  const san = request.getExtension('2.5.29.17'); // subjectAltName
  expect(san && new x509.SubjectAlternativeNameExtension(san.rawData).names.toJSON()).toEqual([{ type: 'dns', value: 'money.com' }]);
  const spki = Buffer.from(request.publicKey.rawData);
  expect(spki.subarray(-32).toString('hex')).toBe(entityIdOf(identity.publicKey));
});

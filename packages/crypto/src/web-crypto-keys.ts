import { createPublicKey, webcrypto, type KeyObject } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;

/** What WebCrypto needs to import a key, and what @peculiar/x509 needs to sign with it. */
interface KeyAlgorithms {
  readonly importAlgorithm: webcrypto.AlgorithmIdentifier | webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
  readonly signingAlgorithm: webcrypto.Algorithm | webcrypto.EcdsaParams;
}

const EC_CURVES: Readonly<Record<string, { namedCurve: string; hash: string }>> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
};

export function keyAlgorithms(key: KeyObject): KeyAlgorithms {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return { importAlgorithm: { name: 'Ed25519' }, signingAlgorithm: { name: 'Ed25519' } };
    case 'ec': {
      const curve = EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (!curve) throw new TypeError(`Unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown'}`);
      return {
        importAlgorithm: { name: 'ECDSA', namedCurve: curve.namedCurve },
        signingAlgorithm: { name: 'ECDSA', hash: curve.hash },
      };
    }
    case 'rsa':
      return {
        importAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
        signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      };
    default:
      throw new TypeError(`Unsupported key type for certificates: ${key.asymmetricKeyType ?? key.type}`);
  }
}

// Node 20 has no KeyObject.toCryptoKey(), so keys cross over to WebCrypto as DER.
export async function toCryptoPrivateKey(privateKey: KeyObject): Promise<CryptoKey> {
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, keyAlgorithms(privateKey).importAlgorithm, false, ['sign']);
}

export async function toCryptoPublicKey(key: KeyObject): Promise<CryptoKey> {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return webcrypto.subtle.importKey('spki', der, keyAlgorithms(publicKey).importAlgorithm, true, ['verify']);
}

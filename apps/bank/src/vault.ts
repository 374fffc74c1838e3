// Customers' private keys at rest (transparent banking). The design, in full in README.md:
//   master key  = scrypt(LCP_BANK_SECRET, salt = 16 random bytes kept in the database, N=2^15, r=8, p=1)
//   record key  = HKDF-SHA256(master key, salt = 16 random bytes per record, info = "lcp-bank key v1")
//   box         = AES-256-GCM(record key, iv = 12 random bytes, aad = what the key belongs to)
// A box is "v1.<salt>.<iv>.<tag>.<ciphertext>" (base64url). The AAD binds it to its row, so a box
// moved to another customer does not open. A stolen database without the secret opens nothing.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, scrypt as scryptCallback, type BinaryLike, type ScryptOptions } from 'node:crypto';
import type { Db } from './db.js';
import { readMeta, writeMeta } from './db.js';

const VERSION = 'v1';
const INFO = Buffer.from('lcp-bank key v1');
const CHECK_AAD = 'vault-check';
const CHECK_TEXT = 'lcp-bank vault check';
const MASTER_SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

/** The server secret does not open what this database holds: it is not the secret it was made with. */
export class VaultSecretError extends Error {
  override name = 'VaultSecretError';
}

/** A box was changed, moved to another row, or was made under another secret. */
export class VaultBoxError extends Error {
  override name = 'VaultBoxError';
}

const scrypt = (password: BinaryLike, salt: BinaryLike, keylen: number, options: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCallback(password, salt, keylen, options, (e, key) => (e ? reject(e) : resolve(key))));

export class Vault {
  private constructor(readonly master: Buffer) {}

  /** Derives the master key; the first start of a database makes its salt and check value. */
  static async open(db: Db, secret: string): Promise<Vault> {
    let saltText = readMeta(db, 'vault_salt');
    if (!saltText) {
      saltText = randomBytes(16).toString('base64url');
      writeMeta(db, 'vault_salt', saltText);
    }
    const master = await scrypt(secret, Buffer.from(saltText, 'base64url'), 32, MASTER_SCRYPT);
    const vault = new Vault(master);
    const check = readMeta(db, 'vault_check');
    if (!check) {
      writeMeta(db, 'vault_check', vault.seal(Buffer.from(CHECK_TEXT), CHECK_AAD));
    } else {
      try {
        if (vault.open(check, CHECK_AAD).toString() !== CHECK_TEXT) throw new VaultBoxError('check value differs');
      } catch {
        throw new VaultSecretError('LCP_BANK_SECRET is not the secret this database was created with: the customers\' keys cannot be opened');
      }
    }
    return vault;
  }

  seal(plaintext: Buffer, aad: string): string {
    const salt = randomBytes(16);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#recordKey(salt), iv);
    cipher.setAAD(Buffer.from(aad));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return [VERSION, salt, iv, cipher.getAuthTag(), ciphertext].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  open(box: string, aad: string): Buffer {
    const [version, salt, iv, tag, ciphertext, ...rest] = box.split('.');
    if (version !== VERSION || !salt || !iv || !tag || ciphertext === undefined || rest.length > 0) throw new VaultBoxError('not a vault box');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#recordKey(Buffer.from(salt, 'base64url')), Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
    } catch (error) {
      throw new VaultBoxError('the box does not open: changed, moved to another row, or sealed under another secret', { cause: error });
    }
  }

  #recordKey(salt: Buffer): Buffer {
    return Buffer.from(hkdfSync('sha256', this.master, salt, INFO, 32));
  }
}

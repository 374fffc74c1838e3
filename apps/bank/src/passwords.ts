// Password hashes: scrypt with a random salt, parameters kept in the hash so they can be
// raised later without breaking old ones. "scrypt$<logN>$<r>$<p>$<salt>$<hash>" (base64url).
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;

const scrypt = (password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) =>
    scryptCallback(password.normalize('NFKC'), salt, KEY_LENGTH, options, (e, key) => (e ? reject(e) : resolve(key))),
  );

const optionsFor = (logN: number, r: number, p: number): ScryptOptions => ({ N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r + 1024 * 1024 });

export async function hashPassword(password: string, logN = 15): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, optionsFor(logN, 8, 1));
  return `scrypt$${logN}$8$1$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, logN, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !logN || !r || !p || !salt || !hash) return false;
  const n = Number(logN);
  if (!Number.isInteger(n) || n < 10 || n > 20) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), optionsFor(n, Number(r), Number(p)));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** What a new password must be; undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 10) return 'Choose a password of at least 10 characters.';
  if (password.length > 200) return 'Choose a password of at most 200 characters.';
  return undefined;
}

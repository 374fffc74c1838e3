import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { identityFromPem, privateKeyPem, type Identity } from './identity.js';

export type IdentityFileErrorCode =
  | 'IDENTITY_FILE_MISSING'
  | 'IDENTITY_FILE_EXISTS'
  | 'IDENTITY_FILE_INSECURE'
  | 'IDENTITY_FILE_INVALID';

/** A problem with an identity key file; `code` says which, `path` says where. */
export class IdentityFileError extends Error {
  override readonly name = 'IdentityFileError';

  constructor(
    readonly code: IdentityFileErrorCode,
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface SaveIdentityOptions {
  /** Replace an existing file. Off by default: overwriting a key loses an identity (and its accounts) for good. */
  readonly overwrite?: boolean;
}

const PRIVATE_FILE_MODE = 0o600;
const PRIVATE_DIR_MODE = 0o700;

/**
 * Writes the identity's private key as PKCS#8 PEM with mode 0600. The parent directory is created
 * (mode 0700) if needed. The key is written to a temporary file in the same directory and then moved
 * into place, so a crash never leaves a truncated key behind.
 */
export async function saveIdentity(path: string, identity: Identity, options: SaveIdentityOptions = {}): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', PRIVATE_FILE_MODE);
    try {
      // open() applies the umask; set the mode explicitly so the result is exactly 0600.
      await handle.chmod(PRIVATE_FILE_MODE);
      await handle.writeFile(privateKeyPem(identity), 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.overwrite === true) {
      await rename(temp, path);
    } else {
      await placeWithoutOverwriting(temp, path);
    }
  } finally {
    await rm(temp, { force: true });
  }
  await syncDirectory(dir);
}

/**
 * Reads an identity saved by saveIdentity. Refuses a key file that its group or other users can
 * access (like ssh does), since anyone who can read it can spend that identity's money.
 */
export async function loadIdentity(path: string): Promise<Identity> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      throw new IdentityFileError('IDENTITY_FILE_MISSING', path, `No identity key file at ${path}`, { cause: error });
    }
    throw new IdentityFileError('IDENTITY_FILE_INVALID', path, `Cannot open identity key file ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  try {
    // fstat on the open handle, so the file checked is the file read.
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new IdentityFileError('IDENTITY_FILE_INVALID', path, `Identity key path ${path} is not a regular file`);
    }
    const exposed = stats.mode & 0o077;
    if (exposed !== 0 && process.platform !== 'win32') {
      const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
      throw new IdentityFileError(
        'IDENTITY_FILE_INSECURE',
        path,
        `Identity key file ${path} is accessible by group or other users (mode ${mode}); ` +
          `restrict it with: chmod 600 ${path}`,
      );
    }
    const pem = await handle.readFile('utf8');
    try {
      return identityFromPem(pem);
    } catch (error) {
      throw new IdentityFileError(
        'IDENTITY_FILE_INVALID',
        path,
        `Identity key file ${path} does not hold an Ed25519 private key: ${messageOf(error)}`,
        { cause: error },
      );
    }
  } finally {
    await handle.close();
  }
}

/**
 * Loads the identity at `path`, or generates and saves one if there is no file yet (first start).
 * Any other problem (bad mode, wrong key type) is still an error: a broken key is never replaced.
 */
export async function loadOrCreateIdentity(
  path: string,
  generate: () => Identity,
): Promise<{ identity: Identity; created: boolean }> {
  try {
    return { identity: await loadIdentity(path), created: false };
  } catch (error) {
    if (!(error instanceof IdentityFileError) || error.code !== 'IDENTITY_FILE_MISSING') throw error;
  }
  const identity = generate();
  try {
    await saveIdentity(path, identity);
    return { identity, created: true };
  } catch (error) {
    // Another process created it between our load and save: use theirs.
    if (error instanceof IdentityFileError && error.code === 'IDENTITY_FILE_EXISTS') {
      return { identity: await loadIdentity(path), created: false };
    }
    throw error;
  }
}

// link() fails with EEXIST instead of replacing, so "refuse to overwrite" has no check-then-write race.
async function placeWithoutOverwriting(temp: string, path: string): Promise<void> {
  try {
    await link(temp, path);
    return;
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') throw existsError(path, error);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EXDEV') throw error;
  }
  // The file system has no hard links: fall back to check-then-rename.
  const existing = await stat(path).catch(() => undefined);
  if (existing) throw existsError(path);
  await rename(temp, path);
}

function existsError(path: string, cause?: unknown): IdentityFileError {
  return new IdentityFileError(
    'IDENTITY_FILE_EXISTS',
    path,
    `Refusing to overwrite the existing identity key file ${path} (pass { overwrite: true } to replace it)`,
    { cause },
  );
}

// Makes the rename itself durable. Not every platform can open a directory, so this is best effort.
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

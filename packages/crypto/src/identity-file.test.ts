import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateIdentity, privateKeyPem } from './identity.js';
import { IdentityFileError, loadIdentity, loadOrCreateIdentity, saveIdentity } from './identity-file.js';

const posix = process.platform !== 'win32';

describe('identity files', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lcp-crypto-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saves with mode 0600 in a new parent directory, and loads the same id back', async () => {
    const identity = generateIdentity();
    const path = join(dir, 'nested', 'keys', 'holder.pem');
    await saveIdentity(path, identity);

    if (posix) expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toBe(privateKeyPem(identity));
    const loaded = await loadIdentity(path);
    expect(loaded.id).toBe(identity.id);
    expect((await loadIdentity(path)).id).toBe(identity.id);
    expect(await readdir(join(dir, 'nested', 'keys'))).toEqual(['holder.pem']); // no temp file left
  });

  it('refuses to overwrite an existing key unless asked to', async () => {
    const path = join(dir, 'holder.pem');
    const first = generateIdentity();
    const second = generateIdentity();
    await saveIdentity(path, first);

    const refused = await saveIdentity(path, second).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(IdentityFileError);
    expect(refused).toMatchObject({ code: 'IDENTITY_FILE_EXISTS', path });
    expect((await loadIdentity(path)).id).toBe(first.id);

    await saveIdentity(path, second, { overwrite: true });
    expect((await loadIdentity(path)).id).toBe(second.id);
    if (posix) expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['holder.pem']);
  });

  it.skipIf(!posix)('refuses to load a key file that others can read', async () => {
    const path = join(dir, 'holder.pem');
    await saveIdentity(path, generateIdentity());
    await chmod(path, 0o644);

    const error = await loadIdentity(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdentityFileError);
    expect(error).toMatchObject({ code: 'IDENTITY_FILE_INSECURE', path });
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain('0644');

    await chmod(path, 0o640);
    await expect(loadIdentity(path)).rejects.toMatchObject({ code: 'IDENTITY_FILE_INSECURE' });
    await chmod(path, 0o400);
    await expect(loadIdentity(path)).resolves.toBeDefined();
  });

  it('names the path when the file is missing', async () => {
    const path = join(dir, 'absent.pem');
    await expect(loadIdentity(path)).rejects.toMatchObject({
      code: 'IDENTITY_FILE_MISSING',
      path,
      message: `No identity key file at ${path}`,
    });
  });

  it('names the path when the file holds another kind of key', async () => {
    const path = join(dir, 'ec.pem');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const error = await loadIdentity(path).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'IDENTITY_FILE_INVALID', path });
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain('does not hold an Ed25519 private key');
  });

  it('creates an identity on first start and loads it afterwards', async () => {
    const path = join(dir, 'issuer.pem');
    const first = await loadOrCreateIdentity(path, generateIdentity);
    expect(first.created).toBe(true);
    const second = await loadOrCreateIdentity(path, generateIdentity);
    expect(second).toMatchObject({ created: false, identity: { id: first.identity.id } });
  });
});

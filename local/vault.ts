// The embedded engine's vault: secured values sealed with AES-256-GCM under a key that lives apart
// from the database, in a file only its owner can read, created the first time a value is sealed.
// Whoever copies `.finale/` gets ciphertext; whoever has the key file and the database has the values,
// as with any local secret store.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { SecretVault } from '../core/ports';
import { FinaleError } from '../vocabulary/errors';

/** Settings the local vault reads: where the key is. */
export const KEY_FILE_SETTING = 'FINALE_KEY_FILE';

/** The key file: FINALE_KEY_FILE, else under XDG_CONFIG_HOME (or ~/.config), beside no database. */
export function defaultKeyFile(environment: NodeJS.ProcessEnv = process.env): string {
  const given = environment[KEY_FILE_SETTING];
  if (given) return given;
  const config = environment.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(config, 'finale', 'variables.key');
}

const FORMAT = 'sealed:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

async function readKey(path: string): Promise<Buffer> {
  const info = await stat(path);
  if ((info.mode & 0o077) !== 0) {
    throw new FinaleError(
      `The key file ${path} can be read by others (mode ${(info.mode & 0o777).toString(8)}); run \`chmod 600 ${path}\``,
    );
  }
  const key = Buffer.from((await readFile(path, 'utf8')).trim(), 'hex');
  if (key.length !== 32) throw new FinaleError(`The key file ${path} does not hold a 256-bit key in hex`);
  return key;
}

async function loadOrCreateKey(path: string): Promise<Buffer> {
  try {
    return await readKey(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    // wx: of two processes creating it at once, one writes and the other reads what it wrote.
    const file = await open(path, 'wx', 0o600);
    try {
      await file.writeFile(`${randomBytes(32).toString('hex')}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await chmod(path, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readKey(path);
}

export function localVault(keyFile: string): SecretVault {
  let key: Promise<Buffer> | undefined;
  const theKey = () => {
    key ??= loadOrCreateKey(keyFile);
    key.catch(() => {
      key = undefined;
    });
    return key;
  };
  const seal = async (value: string) => {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', await theKey(), iv);
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return FORMAT + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  };
  const unseal = async (sealed: string) => {
    if (!sealed.startsWith(FORMAT)) throw new FinaleError('A secured value is not in the local vault format');
    const raw = Buffer.from(sealed.slice(FORMAT.length), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', await theKey(), raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch (error) {
      throw new FinaleError(
        `A secured value cannot be opened with the key in ${keyFile}: it was sealed under another key (set it again with \`finale variables set NAME --secured\`)`,
        { cause: error },
      );
    }
  };
  return {
    put: (_address, value) => seal(value),
    // The sealed value lives in the record itself: removing the record removes it.
    remove: async () => {},
    reveal: unseal,
    seal,
    unseal,
  };
}

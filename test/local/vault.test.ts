// The local vault: a key file apart from the database, readable by its owner only, made on first
// use; values sealed with it open only with it.
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultKeyFile, localVault } from '../../local/vault';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'finale-vault-')), 'keys', 'variables.key');
const SECRET = 'ghp_0123456789abcdef';

describe('the local vault', () => {
  it('makes its key on first use, 0600 in a 0700 directory, and seals so that only it opens', async () => {
    const keyFile = fresh();
    const vault = localVault(keyFile);
    expect(existsSync(keyFile)).toBe(false);
    const sealed = await vault.put({ repository: 'local/app', scope: 'repository', name: 'TOKEN' }, SECRET);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(keyFile, '..')).mode & 0o777).toBe(0o700);
    expect(sealed).toMatch(/^sealed:v1:/);
    expect(sealed).not.toContain(SECRET);
    expect(Buffer.from(sealed.slice(10), 'base64').includes(SECRET)).toBe(false);
    // Sealed twice, two different texts (a fresh IV each time).
    expect(await vault.seal(SECRET)).not.toBe(sealed);
    expect(await vault.reveal(sealed)).toBe(SECRET);
    // Another process with the same key file opens it.
    expect(await localVault(keyFile).unseal(sealed)).toBe(SECRET);
  });

  it('says so when a value was sealed under another key, or tampered with', async () => {
    const sealed = await localVault(fresh()).seal(SECRET);
    await expect(localVault(fresh()).unseal(sealed)).rejects.toThrow(
      /cannot be opened with the key in .*: it was sealed under another key/,
    );
    const keyFile = fresh();
    const vault = localVault(keyFile);
    const mine = await vault.seal(SECRET);
    const bytes = Buffer.from(mine.slice(10), 'base64');
    bytes[bytes.length - 1]! ^= 1;
    await expect(vault.unseal(`sealed:v1:${bytes.toString('base64')}`)).rejects.toThrow(/cannot be opened/);
  });

  it('refuses a key file others can read', async () => {
    const keyFile = fresh();
    await localVault(keyFile).seal(SECRET);
    chmodSync(keyFile, 0o644);
    await expect(localVault(keyFile).seal(SECRET)).rejects.toThrow(
      `The key file ${keyFile} can be read by others (mode 644); run \`chmod 600 ${keyFile}\``,
    );
    chmodSync(keyFile, 0o600);
    writeFileSync(keyFile, 'short\n', { mode: 0o600 });
    await expect(localVault(keyFile).seal(SECRET)).rejects.toThrow('does not hold a 256-bit key');
  });

  it('two processes making the key at once end up with one key', async () => {
    const keyFile = fresh();
    const [a, b] = [localVault(keyFile), localVault(keyFile)];
    const [sa, sb] = await Promise.all([a.seal(SECRET), b.seal(SECRET)]);
    expect(await b.unseal(sa)).toBe(SECRET);
    expect(await a.unseal(sb)).toBe(SECRET);
    expect(readFileSync(keyFile, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps its key under XDG_CONFIG_HOME, or where FINALE_KEY_FILE says', () => {
    expect(defaultKeyFile({ XDG_CONFIG_HOME: '/c' })).toBe('/c/finale/variables.key');
    expect(defaultKeyFile({ XDG_CONFIG_HOME: '/c', FINALE_KEY_FILE: '/k' })).toBe('/k');
    expect(defaultKeyFile({ HOME: '/h' })).toMatch(/\.config\/finale\/variables\.key$/);
  });
});

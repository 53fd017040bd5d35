// How clients reach the local server: where it says it listens, and the per-install secret every
// request carries. Kept apart from the server itself so the CLI loads none of the engine to use it.

import { randomBytes } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { FinaleError } from '../vocabulary/errors';
import { ensureHome, type FinalePaths } from './paths';

export const TOKEN_HEADER = 'authorization';
export const USER_HEADER = 'x-finale-user';

declare const FINALE_BUILD: string | undefined;
/** Set by build.mjs for each build, so a CLI notices a background server left from another build. */
export const BUILD_ID = typeof FINALE_BUILD === 'string' ? FINALE_BUILD : 'source';

/** .finale/server.json */
export interface ServerInfo {
  readonly pid: number;
  readonly build: string;
  readonly port: number;
  /** The embedded DynamoDB endpoint: any DynamoDB client (the AWS CLI too) can read the tables there. */
  readonly dynamodb: string;
  readonly instance: string;
  readonly startedAt: number;
}

/** 64 hex digits: what installToken writes. */
const TOKEN = /^[0-9a-f]{64}$/;

/**
 * The per-install secret, created on first use with mode 0600 (only its owner can drive the server).
 * A file that holds anything else is named, with the fix.
 */
export async function installToken(paths: FinalePaths): Promise<string> {
  ensureHome(paths);
  const existing = (
    await readFile(paths.tokenFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw new FinaleError(`cannot read ${paths.tokenFile}: ${error.message}`);
    })
  ).trim();
  if (existing) {
    if (!TOKEN.test(existing)) {
      throw new FinaleError(
        `${paths.tokenFile} does not hold a Finale token (corrupt or edited). Stop the local server if one runs, remove the file (rm ${paths.tokenFile}), and the next command writes a new one`,
      );
    }
    return existing;
  }
  // Written whole under another name, then linked into place: a command started at the same moment
  // (a `finale show` beside a `finale run`) reads either no token or all of it, never a half-written
  // file, and the first link wins.
  const token = randomBytes(32).toString('hex');
  const written = `${paths.tokenFile}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(written, `${token}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(written, paths.tokenFile).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(written, { force: true });
  }
  return (await readFile(paths.tokenFile, 'utf8')).trim();
}

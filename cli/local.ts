// Reaching the local server: find it through .finale/server.json, or start it in the background
// (one at a time, whoever asks first) and wait until it answers.

import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { BUILD_ID, installToken, type ServerInfo, TOKEN_HEADER, USER_HEADER } from '../local/access';
import { ensureHome, type FinalePaths, finalePaths, repositoryRoot } from '../local/paths';
import { isAlive } from '../local/processes';
import { FinaleError } from '../vocabulary/errors';
import type { Transport } from './transport';

/** Who is asking: FINALE_USER, else git's user.email, else the OS user. */
function localIdentity(cwd = process.cwd()): string {
  if (process.env.FINALE_USER?.trim()) return process.env.FINALE_USER.trim();
  try {
    const email = execFileSync('git', ['config', 'user.email'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (email) return email;
  } catch {
    // No git, or no user.email set.
  }
  return userInfo().username;
}

/**
 * The running server as server.json describes it; undefined when there is none (no file, or its
 * process is gone). A file that is not what a server writes is named, with the fix.
 */
export async function readServerInfo(paths: FinalePaths): Promise<ServerInfo | undefined> {
  let text: string;
  try {
    text = await readFile(paths.serverFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FinaleError(`cannot read ${paths.serverFile}: ${(error as Error).message}`);
  }
  const info = parseServerInfo(text);
  if (!info) {
    throw new FinaleError(
      `${paths.serverFile} is not a server description (corrupt or edited). If no \`finale serve\` is running, remove it: rm ${paths.serverFile}`,
    );
  }
  return isAlive(info.pid) ? info : undefined;
}

function parseServerInfo(text: string): ServerInfo | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const info = value as Partial<ServerInfo>;
  const whole =
    typeof value === 'object' &&
    value !== null &&
    Number.isInteger(info.pid) &&
    Number.isInteger(info.port) &&
    typeof info.build === 'string' &&
    typeof info.instance === 'string';
  return whole ? (value as ServerInfo) : undefined;
}

/** The server's health answer, or undefined when it does not answer. */
async function health(
  info: ServerInfo,
  token: string,
  user: string,
): Promise<{ active: number } | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${info.port}/health`, {
      headers: { [TOKEN_HEADER]: `Bearer ${token}`, [USER_HEADER]: user },
      signal: AbortSignal.timeout(2000),
    });
    return response.ok ? ((await response.json()) as { active: number }) : undefined;
  } catch {
    return undefined;
  }
}

/** A server from another build (an upgrade, a rebuild) is replaced once it has no runs in flight. */
async function retireIfStale(info: ServerInfo, active: number): Promise<boolean> {
  if (info.build === BUILD_ID) return false;
  if (active > 0) {
    process.stderr.write(
      `finale: the local server (pid ${info.pid}) is from another build; it is used until its ${active} run(s) end\n`,
    );
    return false;
  }
  process.kill(info.pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (isAlive(info.pid) && Date.now() < deadline) await sleep(25);
  return true;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** bin/finale.js, found from the bundle (dist/) and from the source (cli/) alike. */
function cliEntry(): string {
  return fileURLToPath(new URL('../bin/finale.js', import.meta.url));
}

/** A start lock older than this was left by a CLI that died while starting the server. */
const STALE_START_LOCK_MS = 20_000;

async function takeStartLock(lock: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await (await open(lock, 'wx')).close();
      return true;
    } catch {
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age < STALE_START_LOCK_MS) return false;
      await rm(lock, { force: true });
    }
  }
  return false;
}

async function startInBackground(paths: FinalePaths): Promise<void> {
  const log = openSync(paths.serverLog, 'a');
  try {
    const child = spawn(process.execPath, [cliEntry(), 'serve'], {
      cwd: paths.root,
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, FINALE_SERVER_BACKGROUND: '1' },
    });
    child.unref();
  } finally {
    closeSync(log);
  }
}

/** The running server, started if there is none; waits up to `timeoutMs` for it to answer. */
async function ensureLocalServer(paths: FinalePaths, user: string, timeoutMs = 15_000): Promise<ServerInfo> {
  const token = await installToken(paths);
  const found = await readServerInfo(paths);
  const answer = found && (await health(found, token, user));
  if (found && answer && !(await retireIfStale(found, answer.active))) return found;

  // Whoever creates the start lock starts the server; everyone else waits for it to answer.
  const lock = `${paths.home}/server.starting`;
  const starter = await takeStartLock(lock);
  try {
    if (starter) await startInBackground(paths);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const info = await readServerInfo(paths);
      if (info && info.pid !== found?.pid && (await health(info, token, user))) return info;
      await sleep(25);
    }
  } finally {
    if (starter) await rm(lock, { force: true });
  }
  const log = await readFile(paths.serverLog, 'utf8').catch(() => '');
  throw new FinaleError(
    `the local server did not start within ${timeoutMs / 1000}s${log ? `; its log (${paths.serverLog}) ends with:\n${log.split('\n').slice(-10).join('\n')}` : ''}`,
  );
}

/** How a request failed when the server went away: before connecting, or during the exchange. */
function lostServer(error: unknown): 'refused' | 'dropped' | undefined {
  const code = (error as { cause?: { code?: string } }).cause?.code;
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return 'dropped';
  return undefined;
}

/**
 * The local server as a transport. It outlives its server: when the server goes away (a crash,
 * kill -9, an upgrade), the next request finds — or starts — the next one and is sent there. Only
 * requests the old server cannot have acted on are sent again: any that did not connect, and reads.
 */
export async function localTransport(
  cwd = process.cwd(),
): Promise<Transport & { readonly paths: FinalePaths }> {
  const paths = finalePaths(repositoryRoot(cwd));
  ensureHome(paths);
  const user = localIdentity(cwd);
  const token = await installToken(paths);
  let info = await ensureLocalServer(paths, user);
  const send = (method: string, path: string, body: unknown) =>
    fetch(`http://127.0.0.1:${info.port}${path}`, {
      method,
      headers: {
        [TOKEN_HEADER]: `Bearer ${token}`,
        [USER_HEADER]: user,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return {
    paths,
    get description() {
      return `the local server on 127.0.0.1:${info.port}`;
    },
    async request(method, path, body) {
      try {
        return await send(method, path, body);
      } catch (error) {
        const lost = lostServer(error);
        // A dropped request may have been acted on: only a read is sent again.
        if (!lost || (lost === 'dropped' && method !== 'GET')) throw error;
        info = await ensureLocalServer(paths, user);
        return send(method, path, body);
      }
    },
  };
}

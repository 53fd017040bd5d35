// `finale serve`: the one local process that owns the store and the executions, serving the same
// API as the AWS deployment on 127.0.0.1. Requests must carry the per-install token from
// .finale/token (readable only by its owner) and the caller's identity.

import { timingSafeEqual } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Context } from 'hono';
import { createApi } from '../api/app';
import { UnauthorizedError } from '../api/errors';
import { BUILD_ID, installToken, type ServerInfo, TOKEN_HEADER, USER_HEADER } from './access';
import { type LocalHost, openLocalHost } from './host';
import type { FinalePaths } from './paths';

function authenticator(token: string) {
  const expected = Buffer.from(`Bearer ${token}`);
  return (c: Context) => {
    const given = Buffer.from(c.req.header(TOKEN_HEADER) ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new UnauthorizedError('missing or wrong local server token (see .finale/token)');
    }
    const user = c.req.header(USER_HEADER)?.trim();
    if (!user) throw new UnauthorizedError(`say who you are in the ${USER_HEADER} header`);
    return { user };
  };
}

interface RunningServer {
  readonly info: ServerInfo;
  readonly host: LocalHost;
  close(): Promise<void>;
}

/** Seconds without a request or a run in flight after which a server stops by default (30 minutes). */
export const IDLE_SECONDS = 1800;

interface ServerOptions {
  readonly port?: number;
  readonly leaseSeconds?: number;
  /** Seconds without requests and runs after which `onIdle` is called; 0: never. */
  readonly idleSeconds?: number;
  readonly onIdle?: () => void;
}

export async function startServer(paths: FinalePaths, options: ServerOptions = {}): Promise<RunningServer> {
  const token = await installToken(paths);
  const host = await openLocalHost({
    paths,
    ...(options.leaseSeconds ? { leaseSeconds: options.leaseSeconds } : {}),
  });
  const app = createApi({
    core: host.core,
    authenticate: authenticator(token),
    defaultRepository: host.repository,
    runs: host.runs,
    logs: host.logs,
    health: () => ({ build: BUILD_ID, active: host.active() }),
  });
  let lastRequest = Date.now();
  const fetch: typeof app.fetch = (...args) => {
    lastRequest = Date.now();
    return app.fetch(...args);
  };
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch, hostname: '127.0.0.1', port: options.port ?? 0 }, () => resolve(s));
    s.once('error', reject);
  });
  const idleMs = (options.idleSeconds ?? IDLE_SECONDS) * 1000;
  const idleTimer =
    idleMs > 0 && options.onIdle
      ? setInterval(
          () => {
            if (host.active() === 0 && Date.now() - lastRequest >= idleMs) options.onIdle?.();
          },
          Math.min(idleMs / 4, 30_000),
        )
      : undefined;
  idleTimer?.unref();
  const { port } = server.address() as AddressInfo;
  const info: ServerInfo = {
    pid: process.pid,
    build: BUILD_ID,
    port,
    dynamodb: host.dynamo.endpoint,
    instance: host.instance,
    startedAt: Date.now(),
  };
  // Written whole or not at all: a client reading it while it is written must not see half of it.
  const written = `${paths.serverFile}.${process.pid}`;
  await writeFile(written, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  await rename(written, paths.serverFile);
  return {
    info,
    host,
    async close() {
      clearInterval(idleTimer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await host.close();
      const current = await readFile(paths.serverFile, 'utf8').catch(() => '');
      if (current.includes(`"instance":"${host.instance}"`)) await rm(paths.serverFile, { force: true });
    },
  };
}

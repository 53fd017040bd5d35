// `finale serve`: the one local process that owns the store and the executions, serving the same
// API as the AWS deployment on 127.0.0.1. Requests must carry the per-install token from
// .finale/token (readable only by its owner) and the caller's identity.

import { timingSafeEqual } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
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

export interface RunningServer {
  readonly info: ServerInfo;
  readonly host: LocalHost;
  close(): Promise<void>;
}

export async function startServer(
  paths: FinalePaths,
  options: { port?: number; leaseSeconds?: number } = {},
): Promise<RunningServer> {
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
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: options.port ?? 0 }, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const info: ServerInfo = {
    pid: process.pid,
    build: BUILD_ID,
    port,
    dynamodb: host.dynamo.endpoint,
    instance: host.instance,
    startedAt: Date.now(),
  };
  await writeFile(paths.serverFile, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  return {
    info,
    host,
    async close() {
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

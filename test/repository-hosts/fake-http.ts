// Test helper: a local HTTP server standing in for a repository host's REST API (or any HTTP API):
// exact routes answer what a test sets, everything else is 404, and every request is recorded.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  /** Path with query, as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface FakeHttp {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Answers `METHOD /path?query` with a status, a body (JSON unless a string) and extra headers. */
  route(method: string, url: string, status: number, body?: unknown, headers?: Record<string, string>): void;
  close(): Promise<void>;
}

export async function startFakeHttp(): Promise<FakeHttp> {
  const routes = new Map<string, { status: number; body: unknown; headers?: Record<string, string> }>();
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const route = routes.get(`${req.method} ${req.url}`);
      if (!route) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
        return;
      }
      const text = typeof route.body === 'string' ? route.body : JSON.stringify(route.body ?? {});
      res
        .writeHead(route.status, {
          'content-type': typeof route.body === 'string' ? 'text/plain' : 'application/json',
          ...route.headers,
        })
        .end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    route(method, url, status, body, headers) {
      routes.set(`${method} ${url}`, { status, body, ...(headers ? { headers } : {}) });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

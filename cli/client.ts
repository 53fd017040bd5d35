// The CLI's view of the API: one method per route, errors turned back into FinaleErrors with the
// exit code the server chose, so `finale stop` exits 3 or 4 the same against either engine.

import type { ErrorBody } from '../api/errors';
import type { Views } from '../api/views';
import type { Diagnostic } from '../statemachine/language/index';
import type { StopMode } from '../vocabulary/contract';
import { FinaleError } from '../vocabulary/errors';
import { printDiagnostics } from './commands/diagnostics';
import { remoteSettingsFromEnv, type Transport } from './transport';

export class ApiClient {
  constructor(readonly transport: Transport) {}

  private withRepository(path: string): string {
    const repository = this.transport.repository;
    if (!repository) return path;
    return `${path}${path.includes('?') ? '&' : '?'}repository=${encodeURIComponent(repository)}`;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await this.transport.request(method, this.withRepository(path), body);
    } catch (error) {
      throw new FinaleError(`cannot reach ${this.transport.description}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new FinaleError(
        `${this.transport.description} answered ${response.status} with something that is not JSON`,
      );
    }
    if (response.ok) return json as T;
    const error = (json as Partial<ErrorBody>).error;
    if (error?.diagnostics) printDiagnostics(error.diagnostics as Diagnostic[]);
    throw new FinaleError(error?.message ?? `${this.transport.description} answered ${response.status}`, {
      name: error?.name ?? 'ApiError',
      exitCode: error?.exitCode ?? 1,
    });
  }

  startRun(request: {
    file: string;
    pipeline?: string;
    branch?: string;
    variables: Record<string, string>;
    environment?: Record<string, string>;
  }) {
    return this.call<Views['started']>('POST', '/runs', request);
  }

  run(ref: string) {
    return this.call<Views['run']>('GET', `/runs/${encodeURIComponent(ref)}`).then((r) => r.run);
  }

  runs(limit = 25, cursor?: string) {
    const query = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    return this.call<Views['runs']>('GET', `/runs${query}`);
  }

  log(ref: string, step: number, offset: number) {
    return this.call<Views['log']>(
      'GET',
      `/runs/${encodeURIComponent(ref)}/steps/${step}/log?offset=${offset}`,
    );
  }

  stop(ref: string, mode: StopMode, reason?: string) {
    return this.call<Views['stop']>('POST', `/runs/${encodeURIComponent(ref)}/stop`, {
      mode,
      ...(reason ? { reason } : {}),
    });
  }

  approve(ref: string, decision: 'approve' | 'refuse', reason?: string) {
    return this.call<Views['approve']>('POST', `/runs/${encodeURIComponent(ref)}/approve`, {
      decision,
      ...(reason ? { reason } : {}),
    });
  }

  locks() {
    return this.call<Views['locks']>('GET', '/locks').then((r) => r.locks);
  }

  unlock(key: string, reason?: string) {
    const query = reason ? `?reason=${encodeURIComponent(reason)}` : '';
    return this.call<Views['unlock']>('DELETE', `/locks/${encodeURIComponent(key)}${query}`);
  }

  settings() {
    return this.call<Views['settings']>('GET', '/settings').then((r) => r.settings);
  }

  setSetting(key: string, value: string) {
    return this.call<Views['settings']>('PUT', '/settings', { key, value }).then((r) => r.settings);
  }

  variables(deployment?: string) {
    const query = deployment ? `?deployment=${encodeURIComponent(deployment)}` : '';
    return this.call<Views['variables']>('GET', `/variables${query}`).then((r) => r.variables);
  }

  setVariable(name: string, request: { value: string; secured: boolean; deployment?: string }) {
    return this.call<Views['variable']>('PUT', `/variables/${encodeURIComponent(name)}`, request).then(
      (r) => r.variable,
    );
  }

  unsetVariable(name: string, deployment?: string) {
    const query = deployment ? `?deployment=${encodeURIComponent(deployment)}` : '';
    return this.call<Views['variable']>('DELETE', `/variables/${encodeURIComponent(name)}${query}`).then(
      (r) => r.variable,
    );
  }

  environments() {
    return this.call<Views['environments']>('GET', '/environments').then((r) => r.environments);
  }
}

/**
 * The client for a deployed Finale when FINALE_ENDPOINT is set (SigV4, cli/remote.ts), else for the
 * local server (started in the background when none is running).
 */
export async function connect(): Promise<ApiClient> {
  const remote = remoteSettingsFromEnv();
  if (remote) return new ApiClient(await (await import('./remote')).remoteTransport(remote));
  const { localTransport } = await import('./local');
  return new ApiClient(await localTransport());
}

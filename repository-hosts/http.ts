// The few HTTP calls a host adapter makes, with errors that say which host answered what.

import { HostError } from './host';

interface HttpClient {
  /** The response, or undefined for a 404 when `missingOk`. */
  request(
    method: 'GET' | 'POST',
    url: string,
    options?: { body?: unknown; accept?: string; missingOk?: boolean },
  ): Promise<Response | undefined>;
}

/** Hosts answer quickly or not at all; a webhook must answer API Gateway within 30 s. */
const TIMEOUT_MS = 10_000;

export function httpClient(
  hostName: string,
  authorization: string,
  fetchImpl: typeof fetch = fetch,
): HttpClient {
  return {
    async request(method, url, options = {}) {
      const headers: Record<string, string> = {
        authorization,
        accept: options.accept ?? 'application/json',
        'user-agent': 'finale',
      };
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      let response: Response;
      try {
        response = await fetchImpl(url, {
          method,
          headers,
          ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (error) {
        throw new HostError(
          `${hostName} did not answer ${method} ${new URL(url).pathname}: ${(error as Error).message}`,
          0,
        );
      }
      if (response.status === 404 && options.missingOk) return undefined;
      if (!response.ok) {
        const text = (await response.text().catch(() => '')).slice(0, 300);
        throw new HostError(
          `${hostName} answered ${response.status} to ${method} ${new URL(url).pathname}${text ? `: ${text}` : ''}`,
          response.status,
        );
      }
      return response;
    },
  };
}

export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

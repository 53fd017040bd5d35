// The CLI's transport to a deployed Finale: API Gateway's IAM-authorized routes, so every request is
// SigV4-signed (service execute-api) with the caller's AWS credentials — the default provider chain,
// or the named AWS_PROFILE. The identity the API sees is that IAM principal.

import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { UsageError } from '../vocabulary/errors';
import type { RemoteSettings, Transport } from './transport';

/** `https://{id}.execute-api.{region}.amazonaws.com[/stage]`: the region is part of the host name. */
function regionOf(endpoint: URL, settings: RemoteSettings): string | undefined {
  return (
    settings.region ?? /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(endpoint.hostname)?.[1]
  );
}

interface RemoteOptions {
  /** Credentials to sign with; the AWS default chain (honouring the profile) when absent. */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  readonly fetch?: typeof fetch;
}

export async function remoteTransport(
  settings: RemoteSettings,
  options: RemoteOptions = {},
): Promise<Transport> {
  let endpoint: URL;
  try {
    endpoint = new URL(settings.endpoint);
  } catch {
    throw new UsageError(
      `FINALE_ENDPOINT=${settings.endpoint} is not a URL (expected the deployed API's URL)`,
    );
  }
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') {
    throw new UsageError(`FINALE_ENDPOINT=${settings.endpoint}: expected an https:// URL`);
  }
  const region = regionOf(endpoint, settings);
  if (!region) {
    throw new UsageError(`cannot tell the AWS region of ${endpoint.host}: set AWS_REGION`);
  }
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    credentials:
      options.credentials ?? fromNodeProviderChain(settings.profile ? { profile: settings.profile } : {}),
    sha256: Sha256,
  });
  const doFetch = options.fetch ?? fetch;
  const base = endpoint.pathname.replace(/\/$/, '');

  return {
    description: endpoint.origin + base,
    ...(settings.repository ? { repository: settings.repository } : {}),
    async request(method, path, body) {
      const url = new URL(base + path, endpoint.origin);
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const query: Record<string, string> = {};
      for (const [key, value] of url.searchParams) query[key] = value;
      const signed = await signer.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query,
        headers: {
          host: url.host,
          accept: 'application/json',
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(payload !== undefined ? { body: payload } : {}),
      });
      return doFetch(url, {
        method,
        headers: signed.headers,
        ...(payload !== undefined ? { body: payload } : {}),
      });
    },
  };
}

// Secrets Manager values, cached for a few minutes per Lambda container: a rotated secret is picked up
// without a redeploy, and a burst of webhooks costs one GetSecretValue.

import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export interface SecretReader {
  get(secretId: string): Promise<string>;
}

export function secretReader(
  client: SecretsManagerClient,
  options: { ttlMs?: number; now?: () => number } = {},
): SecretReader {
  const ttl = options.ttlMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { value: Promise<string>; until: number }>();
  return {
    get(secretId) {
      const hit = cache.get(secretId);
      if (hit && hit.until > now()) return hit.value;
      const value = client.send(new GetSecretValueCommand({ SecretId: secretId })).then((out) => {
        if (out.SecretString === undefined) throw new Error(`secret ${secretId} has no string value`);
        return out.SecretString;
      });
      value.catch(() => cache.delete(secretId));
      cache.set(secretId, { value, until: now() + ttl });
      return value;
    },
  };
}

// The repository host of a deployment, from the host token secret (a JSON document, see the README's
// "Deploying to AWS"). One deployment serves one host: Bitbucket Cloud, Bitbucket Data Center or GitHub.
// Checked by hand rather than with a schema library: the control and events Lambdas load this module,
// and their bundles (cold starts) stay small without one.

import { FinaleError } from '../vocabulary/errors';
import { type BitbucketCloudConfig, bitbucketCloud } from './bitbucket-cloud';
import { type BitbucketDataCenterConfig, bitbucketDataCenter } from './bitbucket-data-center';
import { type GitHubConfig, github } from './github';
import type { RepositoryHost } from './host';

export * from './host';

export type HostConfig = BitbucketCloudConfig | BitbucketDataCenterConfig | GitHubConfig;

const URL_PATTERN = /^(https?|file):\/\/\S+$/;
const KINDS = ['bitbucket-cloud', 'bitbucket-data-center', 'github'] as const;

function invalid(message: string): never {
  throw new FinaleError(
    `the host token secret is not valid: ${message} (see "Deploying to AWS" in the README)`,
    {
      name: 'HostConfig',
    },
  );
}

/** Parses the host secret; a mistake names the field, never the secret's value. */
export function parseHostConfig(text: string): HostConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    invalid('it is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) invalid('expected a JSON object');
  const value = json as Record<string, unknown>;
  const kind = value.kind;
  if (!KINDS.includes(kind as (typeof KINDS)[number])) invalid(`kind: expected one of ${KINDS.join(', ')}`);
  const text_ = (field: string, required: boolean): string | undefined => {
    const found = value[field];
    if (found === undefined) return required ? invalid(`${field}: required`) : undefined;
    if (typeof found !== 'string' || found === '') invalid(`${field}: expected a non-empty string`);
    return found as string;
  };
  const url = (field: string, required: boolean): string | undefined => {
    const found = text_(field, required);
    if (found !== undefined && !URL_PATTERN.test(found)) invalid(`${field}: expected a URL`);
    return found;
  };
  const credentials = () => {
    const token = text_('token', false);
    const username = text_('username', false);
    const password = text_('password', false);
    if (!token && !(username && password)) invalid('token: a token, or a username and password');
    return {
      ...(token ? { token } : {}),
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
    };
  };
  const optional = (entries: Record<string, string | undefined>) =>
    Object.fromEntries(Object.entries(entries).filter(([, found]) => found !== undefined)) as Record<
      string,
      string
    >;

  switch (kind as (typeof KINDS)[number]) {
    case 'bitbucket-cloud':
      return {
        kind: 'bitbucket-cloud',
        ...credentials(),
        ...optional({ apiUrl: url('apiUrl', false), webUrl: url('webUrl', false) }),
      };
    case 'bitbucket-data-center':
      return {
        kind: 'bitbucket-data-center',
        baseUrl: url('baseUrl', true)!,
        ...credentials(),
        ...optional({ cloneUrl: url('cloneUrl', false) }),
      };
    case 'github':
      return {
        kind: 'github',
        token: text_('token', true)!,
        ...optional({ apiUrl: url('apiUrl', false), webUrl: url('webUrl', false) }),
      };
  }
}

export function createHost(config: HostConfig, fetchImpl?: typeof fetch): RepositoryHost {
  switch (config.kind) {
    case 'bitbucket-cloud':
      return bitbucketCloud(config, fetchImpl);
    case 'bitbucket-data-center':
      return bitbucketDataCenter(config, fetchImpl);
    case 'github':
      return github(config, fetchImpl);
  }
}

// The repository host of a deployment, from the host token secret (a JSON document, see the README's
// "Deploying to AWS"). One deployment serves one host: Bitbucket Cloud, Bitbucket Data Center or GitHub.

import { z } from 'zod';
import { FinaleError } from '../../core/errors';
import { bitbucketCloud } from './bitbucket-cloud';
import { bitbucketDataCenter } from './bitbucket-data-center';
import { github } from './github';
import type { RepositoryHost } from './host';

export * from './host';

const url = z.string().regex(/^(https?|file):\/\//, 'a URL');
const credentials = {
  token: z.string().min(1).optional(),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
};
const hasCredentials = (config: {
  token?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}) => Boolean(config.token || (config.username && config.password));

const HostConfig = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('bitbucket-cloud'),
      ...credentials,
      apiUrl: url.optional(),
      webUrl: url.optional(),
    })
    .refine(hasCredentials, 'a token, or a username and password'),
  z
    .object({
      kind: z.literal('bitbucket-data-center'),
      baseUrl: url,
      ...credentials,
      cloneUrl: url.optional(),
    })
    .refine(hasCredentials, 'a token, or a username and password'),
  z.object({
    kind: z.literal('github'),
    token: z.string().min(1),
    apiUrl: url.optional(),
    webUrl: url.optional(),
  }),
]);

export type HostConfig = z.infer<typeof HostConfig>;

/** Parses the host secret; a mistake names the field, never the secret's value. */
export function parseHostConfig(text: string): HostConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new FinaleError('the host token secret is not JSON (see "Deploying to AWS" in the README)', {
      name: 'HostConfig',
    });
  }
  const parsed = HostConfig.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FinaleError(
      `the host token secret is not valid: ${issue.path.join('.') || 'value'}: ${issue.message}`,
      {
        name: 'HostConfig',
      },
    );
  }
  return parsed.data;
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

// How the CLI reaches the API: the local server (a per-install token, the caller's identity in a
// header) or a deployed Finale on AWS (SigV4-signed requests; the identity is the IAM principal).

export interface Transport {
  /** e.g. "the local server on 127.0.0.1:43123", "https://abc.execute-api.eu-west-1.amazonaws.com". */
  readonly description: string;
  /** The repository requests are about, added as `?repository=` where the server needs it. */
  readonly repository?: string;
  request(method: string, path: string, body?: unknown): Promise<Response>;
}

/** Where a deployed Finale is, from the environment: FINALE_ENDPOINT (+ AWS_PROFILE, AWS_REGION, FINALE_REPOSITORY). */
export interface RemoteSettings {
  readonly endpoint: string;
  readonly profile?: string;
  readonly region?: string;
  readonly repository?: string;
}

export function remoteSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RemoteSettings | undefined {
  const endpoint = env.FINALE_ENDPOINT;
  if (!endpoint) return undefined;
  return {
    endpoint,
    ...(env.AWS_PROFILE ? { profile: env.AWS_PROFILE } : {}),
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    ...(env.FINALE_REPOSITORY ? { repository: env.FINALE_REPOSITORY } : {}),
  };
}

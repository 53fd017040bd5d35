// Keys Finale reads but does not carry out, and what it does instead. One place, so the README
// reference and the warnings say the same thing.

export const UNSUPPORTED = {
  pipe: (pipe: string) =>
    `Finale has no pipe runner: pipe ${pipe} runs as \`docker run\` of its image, so the step needs a Docker CLI and daemon where it runs`,
  service: (service: string) =>
    `Finale does not start service containers: \`${service}\` is not started and the step runs without it`,
  dockerService: () =>
    'Finale does not start a Docker service: on the local engine the step uses the host Docker if there is one; on Fargate there is none',
  optionsDocker: () =>
    'Finale does not add a Docker service to every step (`options.docker`); on Fargate no Docker daemon is available',
  runsOn: (labels: readonly string[]) =>
    `Finale has no self-hosted runners: \`runs-on\` ${labels.join(', ')} is ignored and steps run on Finale's own workers`,
  oidc: () =>
    'Finale does not issue Bitbucket OIDC tokens: BITBUCKET_STEP_OIDC_TOKEN is not set; grant the step task role the access instead',
  caches: () =>
    'Finale does not keep caches between runs yet: caches are neither restored nor saved, so each step starts without them',
  runtime: () => 'Finale ignores `runtime`: steps run on Fargate or on this machine',
  cloneOption: (key: string) => `Finale ignores clone \`${key}\` and makes a plain clone`,
  conditionState: () =>
    'Finale does not evaluate `condition.state`; the step runs as if the condition were true',
  childPipeline: (custom: string) =>
    `Finale does not run child pipelines: this step fails instead of starting custom:${custom}`,
  imported: (from: string) =>
    `Finale cannot import shared pipeline configurations: this pipeline (${from}) never runs`,
  shared: () =>
    'Finale validates shared pipelines (`definitions.pipelines`) but never runs them: other repositories import them in Bitbucket',
  labels: () => 'Finale ignores `labels`',
  anchorsOnly: (key: string) =>
    `\`${key}\` is not a Bitbucket key; it only holds YAML anchors, so Finale ignores it (the anchors still work)`,
  unknownDefinition: (key: string, suggestion: string | undefined) =>
    `\`definitions.${key}\` is not a Bitbucket definition, so Finale ignores it${
      key === 'docker'
        ? '; a Docker service is set under `definitions.services.docker`'
        : suggestion
          ? `; did you mean \`${suggestion}\`?`
          : ''
    }`,
  triggerEvent: (event: string, fired: readonly string[]) =>
    `Finale does not fire \`${event}\` triggers: their pipelines start only from ${fired.join(', ')}`,
  unknownTriggerEvent: (event: string, suggestion: string | undefined) =>
    `\`${event}\` is not a trigger event Bitbucket documents${suggestion ? `; did you mean \`${suggestion}\`?` : ''}; Finale never fires it`,
  undefinedCache: (cache: string) =>
    `the cache \`${cache}\` is neither predefined nor defined under \`definitions.caches\`; Finale ignores it`,
} as const;

// The shape of a bitbucket-pipelines.yml, as a zod schema over the plain values of the source tree.
// Single-value rules (ranges, allowed values) live here with a stable code in `params.code`; rules
// that look at several places at once are in rules/. Null means "not set" for optional keys, as in
// Bitbucket, where `deployment:` left empty is allowed.
import { z } from 'zod';
import { BITBUCKET } from './limits';
import { STEP_SIZES } from './model';

/** Known keys per context, for "did you mean …?" on unknown keys. */
export const KNOWN_KEYS = new Map<string, readonly string[]>();
/** Marks the message of an unknown-key issue with the context it happened in. */
export const CONTEXT_MARK = 'context:';

function strict<T extends z.core.$ZodLooseShape>(context: string, shape: T) {
  KNOWN_KEYS.set(context, Object.keys(shape));
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `${CONTEXT_MARK}${context}` : undefined),
  });
}

/**
 * A custom issue with a stable code, raised by a refinement. Rules over a whole mapping run even when
 * something inside it is wrong (`always`), so every error is reported at once; they must then accept
 * any input.
 */
function rule<T>(code: string, check: (value: T) => boolean, message: (value: T) => string, always = false) {
  return [
    check,
    {
      error: (issue: { input: unknown }) => message(issue.input as T),
      params: { code },
      ...(always ? { when: () => true } : {}),
    },
  ] as const;
}

const show = (value: unknown): string => (typeof value === 'string' ? `"${value}"` : JSON.stringify(value));

// Text: YAML reads `1.10`, `on` or `2024-01-01` as other types; the builder uses the text as written.
const text = z.union([z.string(), z.number(), z.boolean()]);
const nonEmptyText = text.refine(
  ...rule<string | number | boolean>(
    'empty-value',
    (v) => String(v).trim() !== '',
    () => 'must not be empty',
  ),
);
const textList = z.array(text);
const bool = z.boolean();

const maxTime = z.number().refine(
  ...rule<number>(
    'max-time-range',
    (v) => Number.isInteger(v) && v >= BITBUCKET.maxTime.min && v <= BITBUCKET.maxTime.max,
    (v) =>
      `\`max-time\` must be a whole number of minutes from ${BITBUCKET.maxTime.min} to ${BITBUCKET.maxTime.max}, not ${v}`,
  ),
);

const size = text.refine(
  ...rule<string | number | boolean>(
    'step-size',
    (v) => (STEP_SIZES as readonly string[]).includes(String(v)),
    (v) => `\`size\` must be one of ${STEP_SIZES.join(', ')}, not ${show(v)}`,
  ),
);

const trigger = text.refine(
  ...rule<string | number | boolean>(
    'trigger-value',
    (v) => v === 'manual' || v === 'automatic',
    (v) => `\`trigger\` must be manual or automatic, not ${show(v)}`,
  ),
);

const imageObject = strict('image', {
  name: nonEmptyText,
  username: text.nullish(),
  password: text.nullish(),
  email: text.nullish(),
  'run-as-user': z.number().int().nullish(),
  aws: strict('image aws', {
    'access-key': text.nullish(),
    'secret-key': text.nullish(),
    'oidc-role': text.nullish(),
  }).nullish(),
});
export const image = z.union([nonEmptyText, imageObject]);

export const clone = strict('clone', {
  enabled: bool.nullish(),
  depth: z
    .union([z.number(), z.string()])
    .refine(
      ...rule<number | string>(
        'clone-depth',
        (v) => v === 'full' || (typeof v === 'number' && Number.isInteger(v) && v >= 1),
        (v) => `\`depth\` must be a number of commits (1 or more) or "full", not ${show(v)}`,
      ),
    )
    .nullish(),
  lfs: bool.nullish(),
  'skip-ssl-verify': bool.nullish(),
  filter: text.nullish(),
  'sparse-checkout': strict('sparse-checkout', {
    enabled: bool.nullish(),
    'cone-mode': bool.nullish(),
    patterns: textList.nullish(),
  }).nullish(),
  strategy: text.nullish(),
  tags: bool.nullish(),
});

const runtime = strict('runtime', {
  cloud: strict('runtime cloud', {
    arch: text.nullish(),
    'atlassian-ip-ranges': bool.nullish(),
    version: text.nullish(),
  }).nullish(),
});

const pipe = strict('pipe', {
  pipe: nonEmptyText,
  variables: z.record(z.string(), z.union([text, textList]).nullable()).nullish(),
});

// A command is text; a mapping is a pipe. `- key: value` written by mistake reads as a mapping.
const scriptItem = z.union([nonEmptyText, pipe]);
const script = z.array(scriptItem).min(1);

const artifactUpload = strict('artifact upload', {
  name: nonEmptyText,
  type: text.nullish(),
  paths: z.array(text).min(1),
  depth: z.number().int().positive().nullish(),
  'ignore-paths': textList.nullish(),
  'capture-on': text.nullish(),
});

const artifacts = z.union([
  textList,
  strict('artifacts', {
    download: z.union([bool, textList]).nullish(),
    paths: textList.nullish(),
    upload: z.array(artifactUpload).nullish(),
  }),
]);

const changesets = strict('changesets', {
  includePaths: textList.nullish(),
  excludePaths: textList.nullish(),
}).refine(
  ...rule<{ includePaths?: unknown; excludePaths?: unknown }>(
    'changesets-empty',
    (v) => v.includePaths != null || v.excludePaths != null,
    () => '`changesets` needs `includePaths` or `excludePaths`',
    true,
  ),
);

const condition = strict('condition', {
  changesets: changesets.nullish(),
  state: nonEmptyText.nullish(),
}).refine(
  ...rule<{ changesets?: unknown; state?: unknown }>(
    'condition-empty',
    (v) => v.changesets != null || v.state != null,
    () => '`condition` needs `changesets` (or `state`)',
    true,
  ),
);

const onFail = strict('on-fail', {
  strategy: text.refine(
    ...rule<string | number | boolean>(
      'on-fail-strategy',
      (v) => v === 'fail' || v === 'ignore' || v === 'retry',
      (v) => `\`strategy\` must be fail, ignore or retry, not ${show(v)}`,
    ),
  ),
  maxRetryCount: z
    .number()
    .refine(
      ...rule<number>(
        'on-fail-retry-count',
        (v) => Number.isInteger(v) && v >= BITBUCKET.maxRetryCount.min && v <= BITBUCKET.maxRetryCount.max,
        (v) =>
          `\`maxRetryCount\` must be a whole number from ${BITBUCKET.maxRetryCount.min} to ${BITBUCKET.maxRetryCount.max}, not ${v}`,
      ),
    )
    .nullish(),
});

const runsOn = z.union([
  nonEmptyText,
  z
    .array(nonEmptyText)
    .min(1)
    .refine(
      ...rule<unknown[]>(
        'runs-on-labels',
        (v) => v.length <= BITBUCKET.runsOnLabels.max,
        (v) => `\`runs-on\` takes at most ${BITBUCKET.runsOnLabels.max} labels, not ${v.length}`,
      ),
    ),
]);

export const stepShape = {
  name: text.nullish(),
  script: script.nullish(),
  'after-script': script.nullish(),
  image: image.nullish(),
  caches: textList.nullish(),
  artifacts: artifacts.nullish(),
  services: textList
    .refine(
      ...rule<unknown[]>(
        'too-many-services',
        (v) => v.length <= BITBUCKET.maxServices,
        (v) => `a step can use at most ${BITBUCKET.maxServices} services, not ${v.length}`,
      ),
    )
    .nullish(),
  size: size.nullish(),
  'max-time': maxTime.nullish(),
  deployment: nonEmptyText.nullish(),
  environment: nonEmptyText.nullish(),
  'concurrency-group': nonEmptyText.nullish(),
  concurrency: strict('concurrency', { group: nonEmptyText }).nullish(),
  trigger: trigger.nullish(),
  condition: condition.nullish(),
  oidc: bool.nullish(),
  'runs-on': runsOn.nullish(),
  runtime: runtime.nullish(),
  clone: clone.nullish(),
  'fail-fast': bool.nullish(),
  'on-fail': onFail.nullish(),
  'output-variables': textList.nullish(),
  // A child pipeline step: `type: pipeline` starts the custom pipeline named by `custom`.
  type: text
    .refine(
      ...rule<string | number | boolean>(
        'step-type',
        (v) => v === 'pipeline',
        (v) => `\`type\` can only be pipeline (a child pipeline step), not ${show(v)}`,
      ),
    )
    .nullish(),
  custom: nonEmptyText.nullish(),
  'input-variables': z.record(z.string(), text.nullable()).nullish(),
};

type StepInput = { [K in keyof typeof stepShape]?: unknown };

export const step = strict('step', stepShape)
  .refine(
    ...rule<StepInput>(
      'script-required',
      (v) => typeof v !== 'object' || v === null || v.type === 'pipeline' || v.script != null,
      () => 'this step has no `script`; every step needs one',
      true,
    ),
    // The check reads only `type` and `script`; run it even when other keys have problems.
  )
  .refine(
    ...rule<StepInput>(
      'child-pipeline-custom',
      (v) => typeof v !== 'object' || v === null || v.type !== 'pipeline' || v.custom != null,
      () => 'a child pipeline step (`type: pipeline`) needs `custom`: the name of the custom pipeline to run',
      true,
    ),
  );

/** An item with exactly one of the given keys. */
function item(context: string, shape: Record<string, z.ZodType>) {
  const keys = Object.keys(shape);
  const optional = Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, v.optional()]));
  return strict(context, optional).refine(
    ...rule<Record<string, unknown>>(
      'item-kind',
      (v) => typeof v !== 'object' || v === null || keys.filter((k) => k in v).length === 1,
      (v) => {
        const present = keys.filter((k) => k in v);
        return present.length === 0
          ? `each entry here must be one of ${keys.map((k) => `\`${k}:\``).join(', ')}`
          : `an entry holds one of ${present.map((k) => `\`${k}:\``).join(' and ')}, not several; start each with its own \`- \``;
      },
      true,
    ),
  );
}

const groupedStep = item('parallel item', { step, final: step });
const stageStep = item('stage item', { step, final: step });

const parallel = z.union([
  z.array(groupedStep).min(1),
  strict('parallel', { 'fail-fast': bool.nullish(), steps: z.array(groupedStep).min(1) }),
]);

const stage = strict('stage', {
  name: text.nullish(),
  deployment: nonEmptyText.nullish(),
  condition: condition.nullish(),
  trigger: trigger.nullish(),
  steps: z.array(stageStep).min(1),
});

const variable = strict('variable', {
  name: nonEmptyText.refine(
    ...rule<string | number | boolean>(
      'variable-name',
      (v) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(v)),
      (v) =>
        `a variable name takes letters, digits and underscores and cannot start with a digit: ${show(v)}`,
    ),
  ),
  default: text.nullish(),
  'allowed-values': z.array(text).min(1).nullish(),
  description: text.nullish(),
});

export const pipelineItem = item('pipeline item', {
  step,
  parallel,
  stage,
  final: step,
  variables: z.array(variable).min(1),
});

const items = z.array(pipelineItem).min(1);
const imported = strict('imported pipeline', {
  import: nonEmptyText.refine(
    ...rule<string | number | boolean>(
      'import-format',
      (v) => /^[^:]+:[^:]+:[^:]+$/.test(String(v)),
      (v) => `\`import\` takes repository:branch-or-tag:pipeline-name, not ${show(v)}`,
    ),
  ),
});
export const pipeline = z.union([items, imported]);

const pullRequestPipeline = z.union([
  items,
  strict('pull request pipeline', {
    import: imported.shape.import.optional(),
    destinations: z.record(z.string(), pipeline).optional(),
  }).refine(
    ...rule<Record<string, unknown>>(
      'item-kind',
      (v) =>
        typeof v !== 'object' || v === null || ('import' in v ? 1 : 0) + ('destinations' in v ? 1 : 0) === 1,
      () => 'a pull-request pipeline is a list of steps, `import:` or `destinations:`',
      true,
    ),
  ),
]);

const cache = z.union([
  nonEmptyText,
  strict('cache', {
    key: strict('cache key', { files: z.array(text).min(1) }).nullish(),
    path: nonEmptyText,
  }),
]);

const service = strict('service', {
  image: image.nullish(),
  memory: z
    .number()
    .refine(
      ...rule<number>(
        'service-memory',
        (v) => Number.isInteger(v) && v >= BITBUCKET.serviceMemoryMin,
        (v) =>
          `\`memory\` must be a whole number of megabytes, at least ${BITBUCKET.serviceMemoryMin}, not ${v}`,
      ),
    )
    .nullish(),
  type: text.nullish(),
  variables: z.record(z.string(), text.nullable()).nullish(),
  // Bitbucket's early documentation called service variables `environment`; files still use it.
  environment: z.record(z.string(), text.nullable()).nullish(),
});

const SELECTOR_KEYS = ['default', 'branches', 'tags', 'bookmarks', 'pull-requests', 'custom'];

// An empty section (`default:` with nothing under it) is an error, not an absent one.
export const pipelines = strict('pipelines', {
  default: pipeline.optional(),
  branches: z.record(z.string(), pipeline).optional(),
  tags: z.record(z.string(), pipeline).optional(),
  bookmarks: z.record(z.string(), pipeline).optional(),
  'pull-requests': z.record(z.string(), pullRequestPipeline).optional(),
  custom: z.record(z.string(), pipeline).optional(),
}).refine(
  ...rule<Record<string, unknown>>(
    'no-pipelines',
    // Unknown keys are reported on their own; "no pipeline" would only repeat them.
    (v) =>
      typeof v !== 'object' ||
      v === null ||
      Object.values(v).some((x) => x != null) ||
      Object.keys(v).some((k) => !SELECTOR_KEYS.includes(k)),
    () => '`pipelines` defines no pipeline: add `default`, `branches`, `tags`, `pull-requests` or `custom`',
    true,
  ),
);

export const DEFINITION_KEYS = ['caches', 'services', 'pipelines'] as const;
// Unknown keys under `definitions` and at the top level are checked by the parser (they may only
// hold anchors), so these two objects are loose here.
export const definitions = z.looseObject({
  caches: z.record(z.string(), cache).nullish(),
  services: z.record(z.string(), service).nullish(),
  pipelines: z.record(z.string(), pipeline).nullish(),
});

export const TOP_LEVEL_KEYS = [
  'image',
  'clone',
  'options',
  'definitions',
  'pipelines',
  'export',
  'labels',
] as const;
export const file = z.looseObject({
  image: image.nullish(),
  clone: clone.nullish(),
  options: strict('options', {
    'max-time': maxTime.nullish(),
    size: size.nullish(),
    docker: bool.nullish(),
    runtime: runtime.nullish(),
    'runs-on': runsOn.nullish(),
  }).nullish(),
  definitions: definitions.nullish(),
  pipelines,
  export: bool.nullish(),
  labels: z.record(z.string(), z.unknown()).nullish(),
});

export type FileInput = z.input<typeof file>;
export type StepInputShape = z.input<typeof step>;

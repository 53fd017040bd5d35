// The shape of a bitbucket-pipelines.yml, as a zod schema over the plain values of the source tree.
// Single-value rules (ranges, allowed values) live here with a stable code in `params.code`; rules
// that look at several places at once are in rules/. Null means "not set" for optional keys, as in
// Bitbucket, where `deployment:` left empty is allowed.
// zod/mini rather than zod: its functions tree-shake, so the webhook Lambda does not carry all of zod.
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { BITBUCKET } from './limits';
import { STEP_SIZES } from './model';

// zod/mini sets no locale; issues.ts words the rest, but falls back to zod's English message.
z.config(en());

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
 * A refinement raising a custom issue with a stable code. Rules over a whole mapping run even when
 * something inside it is wrong (`always`), so every error is reported at once; they must then accept
 * any input.
 */
function rule<T>(code: string, check: (value: T) => boolean, message: (value: T) => string, always = false) {
  return z.refine<T>(check, {
    error: (issue) => message(issue.input as T),
    params: { code },
    ...(always ? { when: () => true } : {}),
  });
}

const show = (value: unknown): string => (typeof value === 'string' ? `"${value}"` : JSON.stringify(value));

type Text = string | number | boolean;

// Text: YAML reads `1.10`, `on` or `2024-01-01` as other types; the builder uses the text as written.
const text = z.union([z.string(), z.number(), z.boolean()]);
const nonEmptyText = text.check(
  rule<Text>(
    'empty-value',
    (v) => String(v).trim() !== '',
    () => 'must not be empty',
  ),
);
const textList = z.array(text);
const bool = z.boolean();
const nonEmptyList = <T extends z.core.SomeType>(element: T) => z.array(element).check(z.minLength(1));

const maxTime = z.number().check(
  rule<number>(
    'max-time-range',
    (v) => Number.isInteger(v) && v >= BITBUCKET.maxTime.min && v <= BITBUCKET.maxTime.max,
    (v) =>
      `\`max-time\` must be a whole number of minutes from ${BITBUCKET.maxTime.min} to ${BITBUCKET.maxTime.max}, not ${v}`,
  ),
);

const size = text.check(
  rule<Text>(
    'step-size',
    (v) => (STEP_SIZES as readonly string[]).includes(String(v)),
    (v) => `\`size\` must be one of ${STEP_SIZES.join(', ')}, not ${show(v)}`,
  ),
);

const trigger = text.check(
  rule<Text>(
    'trigger-value',
    (v) => v === 'manual' || v === 'automatic',
    (v) => `\`trigger\` must be manual or automatic, not ${show(v)}`,
  ),
);

const imageObject = strict('image', {
  name: nonEmptyText,
  username: z.nullish(text),
  password: z.nullish(text),
  email: z.nullish(text),
  'run-as-user': z.nullish(z.number().check(z.int())),
  aws: z.nullish(
    strict('image aws', {
      'access-key': z.nullish(text),
      'secret-key': z.nullish(text),
      'oidc-role': z.nullish(text),
    }),
  ),
});
export const image = z.union([nonEmptyText, imageObject]);

export const clone = strict('clone', {
  enabled: z.nullish(bool),
  depth: z.nullish(
    z.union([z.number(), z.string()]).check(
      rule<number | string>(
        'clone-depth',
        (v) => v === 'full' || (typeof v === 'number' && Number.isInteger(v) && v >= 1),
        (v) => `\`depth\` must be a number of commits (1 or more) or "full", not ${show(v)}`,
      ),
    ),
  ),
  lfs: z.nullish(bool),
  'skip-ssl-verify': z.nullish(bool),
  filter: z.nullish(text),
  'sparse-checkout': z.nullish(
    strict('sparse-checkout', {
      enabled: z.nullish(bool),
      'cone-mode': z.nullish(bool),
      patterns: z.nullish(textList),
    }),
  ),
  strategy: z.nullish(text),
  tags: z.nullish(bool),
});

const runtime = strict('runtime', {
  cloud: z.nullish(
    strict('runtime cloud', {
      arch: z.nullish(text),
      'atlassian-ip-ranges': z.nullish(bool),
      version: z.nullish(text),
    }),
  ),
});

const pipe = strict('pipe', {
  pipe: nonEmptyText,
  variables: z.nullish(z.record(z.string(), z.nullable(z.union([text, textList])))),
});

// A command is text; a mapping is a pipe. `- key: value` written by mistake reads as a mapping.
const scriptItem = z.union([nonEmptyText, pipe]);
const script = nonEmptyList(scriptItem);

const artifactUpload = strict('artifact upload', {
  name: nonEmptyText,
  type: z.nullish(text),
  paths: nonEmptyList(text),
  depth: z.nullish(z.number().check(z.int(), z.positive())),
  'ignore-paths': z.nullish(textList),
  'capture-on': z.nullish(text),
});

const artifacts = z.union([
  textList,
  strict('artifacts', {
    download: z.nullish(z.union([bool, textList])),
    paths: z.nullish(textList),
    upload: z.nullish(z.array(artifactUpload)),
  }),
]);

const changesets = strict('changesets', {
  includePaths: z.nullish(textList),
  excludePaths: z.nullish(textList),
}).check(
  rule<{ includePaths?: unknown; excludePaths?: unknown }>(
    'changesets-empty',
    (v) => v.includePaths != null || v.excludePaths != null,
    () => '`changesets` needs `includePaths` or `excludePaths`',
    true,
  ),
);

const condition = strict('condition', {
  changesets: z.nullish(changesets),
  state: z.nullish(nonEmptyText),
}).check(
  rule<{ changesets?: unknown; state?: unknown }>(
    'condition-empty',
    (v) => v.changesets != null || v.state != null,
    () => '`condition` needs `changesets` (or `state`)',
    true,
  ),
);

const onFail = strict('on-fail', {
  strategy: text.check(
    rule<Text>(
      'on-fail-strategy',
      (v) => v === 'fail' || v === 'ignore' || v === 'retry',
      (v) => `\`strategy\` must be fail, ignore or retry, not ${show(v)}`,
    ),
  ),
  maxRetryCount: z.nullish(
    z.number().check(
      rule<number>(
        'on-fail-retry-count',
        (v) => Number.isInteger(v) && v >= BITBUCKET.maxRetryCount.min && v <= BITBUCKET.maxRetryCount.max,
        (v) =>
          `\`maxRetryCount\` must be a whole number from ${BITBUCKET.maxRetryCount.min} to ${BITBUCKET.maxRetryCount.max}, not ${v}`,
      ),
    ),
  ),
});

const runsOn = z.union([
  nonEmptyText,
  nonEmptyList(nonEmptyText).check(
    rule<unknown[]>(
      'runs-on-labels',
      (v) => v.length <= BITBUCKET.runsOnLabels.max,
      (v) => `\`runs-on\` takes at most ${BITBUCKET.runsOnLabels.max} labels, not ${v.length}`,
    ),
  ),
]);

export const stepShape = {
  name: z.nullish(text),
  script: z.nullish(script),
  'after-script': z.nullish(script),
  image: z.nullish(image),
  caches: z.nullish(textList),
  artifacts: z.nullish(artifacts),
  services: z.nullish(
    textList.check(
      rule<unknown[]>(
        'too-many-services',
        (v) => v.length <= BITBUCKET.maxServices,
        (v) => `a step can use at most ${BITBUCKET.maxServices} services, not ${v.length}`,
      ),
    ),
  ),
  size: z.nullish(size),
  'max-time': z.nullish(maxTime),
  deployment: z.nullish(nonEmptyText),
  environment: z.nullish(nonEmptyText),
  'concurrency-group': z.nullish(nonEmptyText),
  concurrency: z.nullish(strict('concurrency', { group: nonEmptyText })),
  trigger: z.nullish(trigger),
  condition: z.nullish(condition),
  oidc: z.nullish(bool),
  'runs-on': z.nullish(runsOn),
  runtime: z.nullish(runtime),
  clone: z.nullish(clone),
  'fail-fast': z.nullish(bool),
  'on-fail': z.nullish(onFail),
  'output-variables': z.nullish(textList),
  // A child pipeline step: `type: pipeline` starts the custom pipeline named by `custom`.
  type: z.nullish(
    text.check(
      rule<Text>(
        'step-type',
        (v) => v === 'pipeline',
        (v) => `\`type\` can only be pipeline (a child pipeline step), not ${show(v)}`,
      ),
    ),
  ),
  custom: z.nullish(nonEmptyText),
  'input-variables': z.nullish(z.record(z.string(), z.nullable(text))),
};

type StepInput = { [K in keyof typeof stepShape]?: unknown };

export const step = strict('step', stepShape).check(
  // The check reads only `type` and `script`; run it even when other keys have problems.
  rule<StepInput>(
    'script-required',
    (v) => typeof v !== 'object' || v === null || v.type === 'pipeline' || v.script != null,
    () => 'this step has no `script`; every step needs one',
    true,
  ),
  rule<StepInput>(
    'child-pipeline-custom',
    (v) => typeof v !== 'object' || v === null || v.type !== 'pipeline' || v.custom != null,
    () => 'a child pipeline step (`type: pipeline`) needs `custom`: the name of the custom pipeline to run',
    true,
  ),
);

/** An item with exactly one of the given keys. */
function item(context: string, shape: Record<string, z.core.SomeType>) {
  const keys = Object.keys(shape);
  const optional = Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, z.optional(v)]));
  return strict(context, optional).check(
    rule<Record<string, unknown>>(
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
  nonEmptyList(groupedStep),
  strict('parallel', { 'fail-fast': z.nullish(bool), steps: nonEmptyList(groupedStep) }),
]);

const stage = strict('stage', {
  name: z.nullish(text),
  deployment: z.nullish(nonEmptyText),
  condition: z.nullish(condition),
  trigger: z.nullish(trigger),
  steps: nonEmptyList(stageStep),
});

const variable = strict('variable', {
  name: nonEmptyText.check(
    rule<Text>(
      'variable-name',
      (v) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(v)),
      (v) =>
        `a variable name takes letters, digits and underscores and cannot start with a digit: ${show(v)}`,
    ),
  ),
  default: z.nullish(text),
  'allowed-values': z.nullish(nonEmptyList(text)),
  description: z.nullish(text),
});

export const pipelineItem = item('pipeline item', {
  step,
  parallel,
  stage,
  final: step,
  variables: nonEmptyList(variable),
});

const items = nonEmptyList(pipelineItem);
const imported = strict('imported pipeline', {
  import: nonEmptyText.check(
    rule<Text>(
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
    import: z.optional(imported.shape.import),
    destinations: z.optional(z.record(z.string(), pipeline)),
  }).check(
    rule<Record<string, unknown>>(
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
    key: z.nullish(strict('cache key', { files: nonEmptyList(text) })),
    path: nonEmptyText,
  }),
]);

const service = strict('service', {
  image: z.nullish(image),
  memory: z.nullish(
    z.number().check(
      rule<number>(
        'service-memory',
        (v) => Number.isInteger(v) && v >= BITBUCKET.serviceMemoryMin,
        (v) =>
          `\`memory\` must be a whole number of megabytes, at least ${BITBUCKET.serviceMemoryMin}, not ${v}`,
      ),
    ),
  ),
  type: z.nullish(text),
  variables: z.nullish(z.record(z.string(), z.nullable(text))),
  // Bitbucket's early documentation called service variables `environment`; files still use it.
  environment: z.nullish(z.record(z.string(), z.nullable(text))),
});

const SELECTOR_KEYS = ['default', 'branches', 'tags', 'bookmarks', 'pull-requests', 'custom'];

// An empty section (`default:` with nothing under it) is an error, not an absent one.
export const pipelines = strict('pipelines', {
  default: z.optional(pipeline),
  branches: z.optional(z.record(z.string(), pipeline)),
  tags: z.optional(z.record(z.string(), pipeline)),
  bookmarks: z.optional(z.record(z.string(), pipeline)),
  'pull-requests': z.optional(z.record(z.string(), pullRequestPipeline)),
  custom: z.optional(z.record(z.string(), pipeline)),
}).check(
  rule<Record<string, unknown>>(
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
  caches: z.nullish(z.record(z.string(), cache)),
  services: z.nullish(z.record(z.string(), service)),
  pipelines: z.nullish(z.record(z.string(), pipeline)),
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
  image: z.nullish(image),
  clone: z.nullish(clone),
  options: z.nullish(
    strict('options', {
      'max-time': z.nullish(maxTime),
      size: z.nullish(size),
      docker: z.nullish(bool),
      runtime: z.nullish(runtime),
      'runs-on': z.nullish(runsOn),
    }),
  ),
  definitions: z.nullish(definitions),
  pipelines,
  export: z.nullish(bool),
  labels: z.nullish(z.record(z.string(), z.unknown())),
});

export type FileInput = z.input<typeof file>;
export type StepInputShape = z.input<typeof step>;

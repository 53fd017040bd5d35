// The shape of a bitbucket-pipelines.yml, declared once: each key's schema validates it and builds
// its part of the typed model (see declare.ts); model.ts names the results. Single-value rules
// (ranges, allowed values) live here with a stable code in `params.code`; rules that look at several
// places at once are in rules/. Null means "not set" for optional keys, as in Bitbucket, where
// `deployment:` left empty is allowed.
// zod/mini rather than zod: its functions tree-shake, so the webhook Lambda does not carry all of zod.
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { parseCondition } from './conditions';
import {
  amend,
  type Finish,
  isolated,
  list,
  listAs,
  mapping,
  mappingAs,
  type Origin,
  record,
  recordAs,
  scalar,
  warned,
} from './declare';
import { BITBUCKET, DOCUMENTED_EVENTS, FIRED_EVENTS } from './limits';
import type { PipelineSelector, Position, SelectorKind } from './model';
import { STEP_SIZES } from './model';
import { nearest } from './suggest';
import { UNSUPPORTED } from './unsupported';

// zod/mini sets no locale; issues.ts words the rest, but falls back to zod's English message.
z.config(en());

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

/** A rule over a whole mapping: it sees whatever its keys hold, parsed or not. */
function mappingRule(code: string, check: (value: Record<string, unknown>) => boolean, message: string) {
  return rule<Readonly<Record<string, unknown>>>(
    code,
    (v) => typeof v !== 'object' || v === null || check(v),
    () => message,
    true,
  );
}

const show = (value: unknown): string => (typeof value === 'string' ? `"${value}"` : JSON.stringify(value));

// Text: YAML reads `1.10`, `on` or `2024-01-01` as other types; the model keeps the text as written.
const text = z.pipe(z.union([z.string(), z.number(), z.boolean()]), z.transform(String));
const nonEmptyText = text.check(
  rule<string>(
    'empty-value',
    (v) => v.trim() !== '',
    () => 'must not be empty',
  ),
);
const texts = list(text);
const bool = z.boolean();

/** Text that must be one of `values`; the model has the narrow type. */
function oneOf<const V extends string>(
  values: readonly V[],
  code: string,
  message: (value: unknown) => string,
) {
  return z.pipe(
    text,
    z.custom<V>((v) => values.some((value) => value === v), {
      error: (issue) => message(issue.input),
      params: { code },
    }),
  );
}

const wholeNumberIn = (code: string, key: string, range: { min: number; max: number }, unit = '') =>
  z.number().check(
    rule<number>(
      code,
      (v) => Number.isInteger(v) && v >= range.min && v <= range.max,
      (v) => `\`${key}\` must be a whole number${unit} from ${range.min} to ${range.max}, not ${v}`,
    ),
  );

const maxTime = wholeNumberIn('max-time-range', 'max-time', BITBUCKET.maxTime, ' of minutes');

const size = oneOf(
  STEP_SIZES,
  'step-size',
  (v) => `\`size\` must be one of ${STEP_SIZES.join(', ')}, not ${show(v)}`,
);

const trigger = oneOf(
  ['manual', 'automatic'],
  'trigger-value',
  (v) => `\`trigger\` must be manual or automatic, not ${show(v)}`,
);

// --- images, clone, runtime ---------------------------------------------------------------------

const imageAws = mappingAs(
  'image aws',
  {
    'access-key': z.nullish(text),
    'secret-key': z.nullish(text),
    'oidc-role': z.nullish(text),
  },
  ({ at: _at, ...aws }) => aws,
  {
    checks: [
      mappingRule(
        'image-aws-credentials',
        (v) =>
          (v['access-key'] != null && v['secret-key'] != null) !== (v['oidc-role'] != null) &&
          (v['access-key'] != null) === (v['secret-key'] != null),
        '`aws` takes `access-key` with `secret-key`, or `oidc-role` alone',
      ),
    ],
  },
);

export const imageObject = mappingAs(
  'image',
  {
    name: nonEmptyText,
    username: z.nullish(text),
    password: z.nullish(text),
    email: z.nullish(text),
    'run-as-user': z.nullish(z.number().check(z.int())),
    aws: z.nullish(imageAws),
  },
  // An image is placed where its value starts, written as a mapping or as a name.
  (image, origin) => ({ ...image, at: origin.start }),
);
type ImageRef = z.output<typeof imageObject>;
const image = z.union([scalar(nonEmptyText, (name, at): ImageRef => ({ name, at })), imageObject]);

const cloneDepth = z.pipe(
  z.union([z.number(), z.string()]).check(
    rule<number | string>(
      'clone-depth',
      (v) => v === 'full' || (typeof v === 'number' && Number.isInteger(v) && v >= 1),
      (v) => `\`depth\` must be a number of commits (1 or more) or "full", not ${show(v)}`,
    ),
  ),
  z.transform((v): number | 'full' => (typeof v === 'number' ? v : 'full')),
);

const ignoredCloneOption = <S extends z.core.$ZodType>(key: string, schema: S) =>
  warned(z.nullish(schema), 'unsupported-clone-option', () => UNSUPPORTED.cloneOption(key));

export const clone = mapping('clone', {
  enabled: z.nullish(bool),
  depth: z.nullish(cloneDepth),
  lfs: z.nullish(bool),
  'skip-ssl-verify': z.nullish(bool),
  filter: ignoredCloneOption('filter', text),
  'sparse-checkout': ignoredCloneOption(
    'sparse-checkout',
    mapping('sparse-checkout', {
      enabled: z.nullish(bool),
      'cone-mode': z.nullish(bool),
      patterns: z.nullish(texts),
    }),
  ),
  strategy: ignoredCloneOption('strategy', text),
  tags: ignoredCloneOption('tags', bool),
});

const runtime = warned(
  z.nullish(
    mapping('runtime', {
      cloud: z.nullish(
        mapping('runtime cloud', {
          arch: z.nullish(text),
          'atlassian-ip-ranges': z.nullish(bool),
          version: z.nullish(text),
        }),
      ),
    }),
  ),
  'unsupported-runtime',
  () => UNSUPPORTED.runtime(),
);

const runsOn = warned(
  z.nullish(
    z.union([
      scalar(nonEmptyText, (label) => [label]),
      list(nonEmptyText, { nonEmpty: true }).check(
        rule<unknown[]>(
          'runs-on-labels',
          (v) => v.length <= BITBUCKET.runsOnLabels.max,
          (v) => `\`runs-on\` takes at most ${BITBUCKET.runsOnLabels.max} labels, not ${v.length}`,
        ),
      ),
    ]),
  ),
  'unsupported-runs-on',
  (labels) => UNSUPPORTED.runsOn(labels),
);

// --- scripts ------------------------------------------------------------------------------------

const variableValues = (value: z.core.$ZodType) =>
  z.nullish(
    z.pipe(
      record(z.nullable(value)),
      // An empty value is the empty string, as in Bitbucket.
      z.transform((values) => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v ?? '']))),
    ),
  );

const pipe = mappingAs(
  'pipe',
  { pipe: nonEmptyText, variables: variableValues(z.union([text, texts])) },
  (p) => ({ kind: 'pipe' as const, pipe: p.pipe, variables: p.variables ?? {}, at: p.at }),
);

// A command is text; a mapping is a pipe. `- key: value` written by mistake reads as a mapping.
const script = list(
  z.union([scalar(nonEmptyText, (command, at) => ({ kind: 'command' as const, text: command, at })), pipe]),
  {
    nonEmpty: true,
    warn: {
      code: 'unsupported-pipe',
      message: (entry) => (entry.kind === 'pipe' ? UNSUPPORTED.pipe(entry.pipe) : undefined),
    },
  },
);

// --- artifacts, conditions, failures -----------------------------------------------------------

const artifactUpload = mapping('artifact upload', {
  name: nonEmptyText,
  type: z.nullish(text),
  paths: list(text, { nonEmpty: true }),
  depth: z.nullish(z.number().check(z.int(), z.positive())),
  /** Globs left out of the upload. */
  'ignore-paths': z.nullish(texts),
  /** When the upload happens, as written. */
  'capture-on': z.nullish(text),
});

const artifacts = z.union([
  listAs(text, (paths, origin) => ({
    paths,
    download: true,
    upload: [],
    uploadNames: [],
    form: 'paths' as const,
    at: origin.at,
  })),
  mappingAs(
    'artifacts',
    {
      // true: every earlier artifact (Bitbucket's default); false: none; a list: those named uploads.
      download: z.nullish(z.union([bool, texts])),
      paths: z.nullish(texts),
      // Named uploads; a child pipeline step lists only the names it shares with its child.
      upload: z.nullish(list(z.union([artifactUpload, nonEmptyText]))),
    },
    (a) => ({
      paths: a.paths ?? [],
      download: a.download ?? true,
      upload: (a.upload ?? []).flatMap((u) => (typeof u === 'string' ? [] : [u])),
      uploadNames: (a.upload ?? []).flatMap((u) => (typeof u === 'string' ? [u] : [])),
      form: a.paths || a.upload?.some((u) => typeof u !== 'string') ? ('paths' as const) : ('names' as const),
      at: a.at,
    }),
  ),
]);

const changesets = mapping(
  'changesets',
  { includePaths: z.nullish(texts), excludePaths: z.nullish(texts) },
  {
    checks: [
      mappingRule(
        'changesets-empty',
        (v) => v.includePaths != null || v.excludePaths != null,
        '`changesets` needs `includePaths` or `excludePaths`',
      ),
    ],
  },
);

const condition = mappingAs(
  'condition',
  {
    changesets: z.nullish(changesets),
    state: warned(z.nullish(nonEmptyText), 'unsupported-condition-state', () => UNSUPPORTED.conditionState()),
  },
  (c) => ({
    includePaths: c.changesets?.includePaths ?? [],
    excludePaths: c.changesets?.excludePaths ?? [],
    at: c.at,
  }),
  {
    checks: [
      mappingRule(
        'condition-empty',
        (v) => v.changesets != null || v.state != null,
        '`condition` needs `changesets` (or `state`)',
      ),
    ],
  },
);

const onFail = mappingAs(
  'on-fail',
  {
    strategy: oneOf(
      ['fail', 'ignore', 'retry'],
      'on-fail-strategy',
      (v) => `\`strategy\` must be fail, ignore or retry, not ${show(v)}`,
    ),
    maxRetryCount: z.nullish(wholeNumberIn('on-fail-retry-count', 'maxRetryCount', BITBUCKET.maxRetryCount)),
  },
  (o) =>
    o.strategy === 'retry'
      ? { strategy: o.strategy, maxRetryCount: o.maxRetryCount ?? 1, at: o.at }
      : { strategy: o.strategy, at: o.at },
);

// --- steps --------------------------------------------------------------------------------------

const stepShape = {
  name: z.nullish(text),
  script: z.nullish(script),
  'after-script': z.nullish(script),
  image: z.nullish(image),
  caches: warned(z.nullish(texts), 'unsupported-caches', (caches) =>
    caches.length > 0 ? UNSUPPORTED.caches() : undefined,
  ),
  artifacts: z.nullish(artifacts),
  services: z.nullish(
    list(text, {
      warn: {
        code: 'unsupported-service',
        message: (service) =>
          service === 'docker' ? UNSUPPORTED.dockerService() : UNSUPPORTED.service(service),
      },
    }).check(
      rule<unknown[]>(
        'too-many-services',
        (v) => v.length <= BITBUCKET.maxServices,
        (v) => `a step can use at most ${BITBUCKET.maxServices} services, not ${v.length}`,
      ),
    ),
  ),
  size: z.nullish(size),
  /** Minutes, 1–720. */
  'max-time': z.nullish(maxTime),
  deployment: z.nullish(nonEmptyText),
  /** The environment's variables and permissions, without a deployment lock. */
  environment: z.nullish(nonEmptyText),
  'concurrency-group': z.nullish(nonEmptyText),
  concurrency: z.nullish(mapping('concurrency', { group: nonEmptyText })),
  trigger: z.nullish(trigger),
  condition: z.nullish(condition),
  oidc: warned(z.nullish(bool), 'unsupported-oidc', (oidc) => (oidc ? UNSUPPORTED.oidc() : undefined)),
  'runs-on': runsOn,
  runtime,
  clone: z.nullish(clone),
  'fail-fast': z.nullish(bool),
  'on-fail': z.nullish(onFail),
  'output-variables': z.nullish(texts),
  // A child pipeline step: `type: pipeline` starts the custom pipeline named by `custom`.
  type: z.nullish(
    oneOf(
      ['pipeline'],
      'step-type',
      (v) => `\`type\` can only be pipeline (a child pipeline step), not ${show(v)}`,
    ),
  ),
  custom: z.nullish(nonEmptyText),
  'input-variables': variableValues(text),
};

// The checks read only `type` and `script`; they run even when other keys have problems.
const stepChecks = [
  mappingRule(
    'script-required',
    (v) => v.type === 'pipeline' || v.script != null,
    'this step has no `script`; every step needs one',
  ),
  mappingRule(
    'child-pipeline-custom',
    (v) => v.type !== 'pipeline' || v.custom != null,
    'a child pipeline step (`type: pipeline`) needs `custom`: the name of the custom pipeline to run',
  ),
];

export const step = mappingAs(
  'step',
  stepShape,
  ({ concurrency, type, custom, inputVariables, artifacts: written, ...s }, origin) => {
    // A child pipeline step shares artifacts with its child by name (Bitbucket's
    // `artifacts: {upload: [names], download: [names]}`); any other step uploads paths.
    const shared = type === 'pipeline' ? written : undefined;
    const { form, uploadNames, ...artifacts } = (type !== 'pipeline' && written) || {};
    if (shared?.form === 'paths')
      origin.error(
        origin.key('artifacts'),
        'child-pipeline-artifacts',
        'a child pipeline step shares artifacts by name: `artifacts: {upload: [names], download: [names]}`',
      );
    if (form && uploadNames && uploadNames.length > 0)
      origin.error(
        origin.key('artifacts'),
        'artifact-upload-paths',
        'each `upload` entry needs `name` and `paths`; a list of names is for a child pipeline step (`type: pipeline`)',
      );
    const child =
      type === 'pipeline'
        ? {
            custom: custom ?? '',
            inputVariables: inputVariables ?? {},
            artifacts: {
              upload: shared?.uploadNames ?? [],
              download: Array.isArray(shared?.download) ? shared.download : [],
            },
            at: origin.key('type'),
          }
        : undefined;
    if (child) origin.warn(child.at, 'child-pipeline', UNSUPPORTED.childPipeline(child.custom));
    const concurrencyGroup = s.concurrencyGroup ?? concurrency?.group;
    return {
      ...s,
      ...('at' in artifacts && { artifacts }),
      // 'final' for the `- final:` item (set where the item is read); everything else is 'step'.
      kind: 'step' as 'step' | 'final',
      script: s.script ?? [],
      afterScript: s.afterScript ?? [],
      caches: s.caches ?? [],
      services: s.services ?? [],
      ...(concurrencyGroup !== undefined && { concurrencyGroup }),
      trigger: s.trigger ?? 'automatic',
      // Set for a child pipeline step; its script is then empty. Finale does not run child pipelines.
      ...(child && { child }),
      runsOn: s.runsOn ?? [],
      outputVariables: s.outputVariables ?? [],
    };
  },
  { checks: stepChecks },
);
type Step = z.output<typeof step>;

/** The one value the item-kind rule lets through. */
function only<T>(...values: (T | undefined)[]): T {
  const present = values.filter((v): v is T => v !== undefined);
  const [first] = present;
  if (present.length !== 1 || first === undefined)
    throw new Error(`an item holds ${present.length} entries past the item-kind rule`);
  return first;
}

/** An entry of a list with exactly one of the given (optional) keys. */
function item<Sh extends Record<string, z.core.$ZodType>, M>(
  context: string,
  shape: Sh,
  finish: Finish<Sh, M>,
) {
  const keys = Object.keys(shape);
  const kind = rule<Record<string, unknown>>(
    'item-kind',
    (v) => typeof v !== 'object' || v === null || keys.filter((k) => k in v).length === 1,
    (v) => {
      const present = keys.filter((k) => k in v);
      return present.length === 0
        ? `each entry here must be one of ${keys.map((k) => `\`${k}:\``).join(', ')}`
        : `an entry holds one of ${present.map((k) => `\`${k}:\``).join(' and ')}, not several; start each with its own \`- \``;
    },
    true,
  );
  return mappingAs(context, shape, finish, { checks: [kind] });
}

/** A step, or the final step, as an entry of a list of steps. */
const stepItem = (context: string) =>
  item(context, { step: z.optional(step), final: z.optional(step) }, (entry) =>
    only(entry.step, entry.final && amend(entry.final, { kind: 'final' as const })),
  );

const groupedStep = stepItem('parallel item');
const stageStep = stepItem('stage item');

const parallel = z.union([
  listAs(
    groupedStep,
    (steps, origin) => ({ kind: 'parallel' as const, failFast: false, steps, at: origin.at }),
    { nonEmpty: true },
  ),
  mappingAs(
    'parallel',
    { 'fail-fast': z.nullish(bool), steps: list(groupedStep, { nonEmpty: true }) },
    (p) => ({ kind: 'parallel' as const, failFast: p.failFast ?? false, steps: p.steps, at: p.at }),
  ),
]);

const stage = mappingAs(
  'stage',
  {
    name: z.nullish(text),
    deployment: z.nullish(nonEmptyText),
    condition: z.nullish(condition),
    trigger: z.nullish(trigger),
    steps: list(stageStep, { nonEmpty: true }),
  },
  (s) => ({ ...s, kind: 'stage' as const, trigger: s.trigger ?? 'automatic' }),
);

// --- pipelines ----------------------------------------------------------------------------------

const variable = mapping('variable', {
  name: nonEmptyText.check(
    rule<string>(
      'variable-name',
      (v) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(v),
      (v) =>
        `a variable name takes letters, digits and underscores and cannot start with a digit: ${show(v)}`,
    ),
  ),
  default: z.nullish(text),
  'allowed-values': z.nullish(list(text, { nonEmpty: true })),
  description: z.nullish(text),
});

const pipelineItem = item(
  'pipeline item',
  {
    step: z.optional(step),
    parallel: z.optional(parallel),
    stage: z.optional(stage),
    final: z.optional(step),
    variables: z.optional(list(variable, { nonEmpty: true })),
  },
  (entry) =>
    only<
      | Step
      | z.output<typeof parallel>
      | z.output<typeof stage>
      | { kind: 'variables'; variables: typeof entry.variables & {}; at: Position }
    >(
      entry.step,
      entry.parallel,
      entry.stage,
      entry.final && amend(entry.final, { kind: 'final' as const }),
      entry.variables && { kind: 'variables' as const, variables: entry.variables, at: entry.at },
    ),
);

const items = listAs(
  pipelineItem,
  (entries, origin) => {
    // Bitbucket's documentation and schema declare a custom pipeline's variables before its steps.
    for (const [index, entry] of entries.entries()) {
      if (entry.kind === 'variables' && index > 0)
        origin.error(
          entry.at,
          'variables-not-first',
          '`variables` must be the first item of a custom pipeline',
        );
    }
    return {
      items: entries.flatMap((e) => (e.kind === 'variables' ? [] : [e])),
      /** Only custom pipelines declare variables. */
      variables: entries.flatMap((e) => (e.kind === 'variables' ? e.variables : [])),
      at: origin.at,
    };
  },
  { nonEmpty: true },
);
type Built = z.output<typeof items> & { readonly importFrom?: string };

// Bitbucket's two forms: `repository:branch-or-tag:pipeline-name`, and `pipeline-name@import-source`
// for a source declared under `definitions.imports`.
const importRef = nonEmptyText.check(
  rule<string>(
    'import-format',
    (v) => /^[^:]+:[^:]+:[^:]+$/.test(v) || /^[^@]+@[^@]+$/.test(v),
    (v) =>
      `\`import\` takes repository:branch-or-tag:pipeline-name or pipeline-name@import-source, not ${show(v)}`,
  ),
);

/** A source of shared pipelines: a file of this repository, or another repository's branch or tag. */
const importSource = nonEmptyText.check(
  rule<string>(
    'import-source-format',
    (v) => /^[^:]+(:[^:]+)?(:[^:]+)?$/.test(v),
    (v) =>
      `an import source is a file path, repository:branch-or-tag or repository:branch-or-tag:file-path, not ${show(v)}`,
  ),
);

// The steps of an imported pipeline live in another repository; `items` is empty.
function imported(from: string, at: Position, origin: Origin): Built {
  origin.warn(at, 'imported-pipeline', UNSUPPORTED.imported(from));
  return { items: [], variables: [], importFrom: from, at };
}

const pipeline = z.union([
  items,
  mappingAs('imported pipeline', { import: importRef }, (p, origin) => imported(p.import, p.at, origin)),
]);

const pullRequestPipeline = z.union([
  items,
  mappingAs(
    'pull request pipeline',
    { import: z.optional(importRef), destinations: z.optional(record(pipeline, { isolated: true })) },
    (p, origin): Built | { readonly destinations: Readonly<Record<string, Built>> } =>
      p.import !== undefined ? imported(p.import, p.at, origin) : { destinations: p.destinations ?? {} },
    {
      checks: [
        mappingRule(
          'item-kind',
          (v) => ('import' in v ? 1 : 0) + ('destinations' in v ? 1 : 0) === 1,
          'a pull-request pipeline is a list of steps, `import:` or `destinations:`',
        ),
      ],
    },
  ),
]);

/** The pipeline as the rest of Finale sees it: with its selector and the key that names it. */
function selected(built: Built, kind: SelectorKind, pattern?: string, destination?: string) {
  const selector: PipelineSelector = {
    kind,
    ...(pattern !== undefined && { pattern }),
    ...(destination !== undefined && { destination }),
  };
  const key =
    kind === 'default'
      ? 'default'
      : `${kind}:${pattern}${destination === undefined ? '' : `:${destination}`}`;
  return { ...built, key, selector };
}

const SELECTORS = ['branches', 'tags', 'bookmarks', 'pull-requests', 'custom'] as const;

// An empty section (`default:` with nothing under it) is an error, not an absent one.
export const pipelines = mappingAs(
  'pipelines',
  {
    default: isolated(z.optional(pipeline)),
    branches: z.optional(record(pipeline, { isolated: true })),
    tags: z.optional(record(pipeline, { isolated: true })),
    bookmarks: z.optional(record(pipeline, { isolated: true })),
    'pull-requests': z.optional(record(pullRequestPipeline, { isolated: true })),
    custom: z.optional(record(pipeline, { isolated: true })),
  },
  // In the order they are written.
  (sections, origin) =>
    origin.keys().flatMap((section) => {
      if (section === 'default') return sections.default ? [selected(sections.default, 'default')] : [];
      const kind = SELECTORS.find((s) => s === section);
      const patterns = kind && (kind === 'pull-requests' ? sections.pullRequests : sections[kind]);
      if (!kind || !patterns) return [];
      return Object.entries(patterns).flatMap(([pattern, built]) =>
        'destinations' in built
          ? Object.entries(built.destinations).map(([destination, p]) =>
              selected(p, kind, pattern, destination),
            )
          : [selected(built, kind, pattern)],
      );
    }),
  {
    // Unknown sections are reported, and the pipelines that are fine are still checked.
    unknownKeys: 'report',
    checks: [
      mappingRule(
        'no-pipelines',
        (v) => ['default', ...SELECTORS].some((section) => v[section] != null),
        '`pipelines` defines no pipeline: add `default`, `branches`, `tags`, `pull-requests` or `custom`',
      ),
    ],
  },
);

// --- triggers -----------------------------------------------------------------------------------

// Bitbucket names more events than these (pipeline-completed, …) and does not list them all; a name
// Finale does not fire is a warning, so a file Bitbucket accepts is not refused.
const triggerCondition = nonEmptyText.check(
  rule<string>(
    'trigger-condition',
    (v) => parseCondition(v).ok,
    (v) => {
      const parsed = parseCondition(v);
      return parsed.ok ? '' : parsed.message;
    },
  ),
);

const triggers = recordAs(
  list(
    mapping('trigger', { condition: triggerCondition, pipelines: list(nonEmptyText, { nonEmpty: true }) }),
    {
      nonEmpty: true,
    },
  ),
  (events, origin) =>
    Object.entries(events).flatMap(([event, entries]) => {
      if (!(FIRED_EVENTS as readonly string[]).includes(event)) {
        const documented = (DOCUMENTED_EVENTS as readonly string[]).includes(event);
        origin.warn(
          origin.key(event),
          documented ? 'unsupported-trigger-event' : 'unknown-trigger-event',
          documented
            ? UNSUPPORTED.triggerEvent(event, FIRED_EVENTS)
            : UNSUPPORTED.unknownTriggerEvent(event, nearest(event, DOCUMENTED_EVENTS)),
        );
      }
      return entries.map((entry) => amend(entry, { event }));
    }),
);

// --- definitions and the file -------------------------------------------------------------------

const cache = z.union([
  scalar(nonEmptyText, (path, at) => ({ path, at })),
  mappingAs(
    'cache',
    { key: z.nullish(mapping('cache key', { files: list(text, { nonEmpty: true }) })), path: nonEmptyText },
    // Keyed caches: the cache is invalidated when these files change.
    (c) => ({ path: c.path, ...(c.key && { keyFiles: c.key.files }), at: c.at }),
  ),
]);

const serviceVariables = variableValues(text);
const service = mappingAs(
  'service',
  {
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
    variables: serviceVariables,
    // Bitbucket's early documentation called service variables `environment`; files still use it.
    environment: serviceVariables,
  },
  ({ environment, variables, ...s }) => ({
    ...s,
    ...((variables || environment) && { variables: { ...environment, ...variables } }),
  }),
);

const named = <T extends object>(entries: Readonly<Record<string, T>> | undefined) =>
  Object.entries(entries ?? {}).map(([name, value]) => ({ name, ...value }));

// Unknown keys under `definitions` and at the top level are checked by the parser (they may only
// hold anchors), so these two mappings are loose here.
const definitions = mappingAs(
  'definitions',
  {
    caches: isolated(z.nullish(record(cache))),
    services: isolated(z.nullish(record(service))),
    imports: isolated(z.nullish(record(scalar(importSource, (source, at) => ({ source, at }))))),
    /** Shared with other repositories (`export: true`); no trigger selects them. */
    pipelines: isolated(z.nullish(record(pipeline, { isolated: true })), {
      code: 'shared-pipelines',
      message: () => UNSUPPORTED.shared(),
    }),
  },
  (d) => ({
    caches: named(d.caches),
    services: named(d.services),
    imports: named(d.imports),
    shared: Object.entries(d.pipelines ?? {}).map(([name, p]) => ({
      ...selected(p, 'custom', name),
      key: `shared:${name}`,
    })),
  }),
  { loose: true },
);

export const file = mappingAs(
  'the top level',
  {
    image: isolated(z.nullish(image)),
    clone: isolated(z.nullish(clone)),
    options: isolated(
      z.nullish(
        mapping('options', {
          'max-time': z.nullish(maxTime),
          size: z.nullish(size),
          docker: warned(z.nullish(bool), 'unsupported-docker', (docker) =>
            docker ? UNSUPPORTED.optionsDocker() : undefined,
          ),
          runtime,
          'runs-on': runsOn,
        }),
      ),
    ),
    definitions: isolated(z.nullish(definitions)),
    pipelines: isolated(pipelines),
    /** Which custom pipelines run for which event, and when (Bitbucket's newer `triggers`). */
    triggers: isolated(z.nullish(triggers)),
    export: isolated(z.nullish(bool)),
    labels: isolated(z.nullish(z.record(z.string(), z.unknown())), {
      code: 'unsupported-labels',
      message: () => UNSUPPORTED.labels(),
    }),
  },
  ({ definitions, pipelines, triggers, export: _export, labels: _labels, at: _at, ...top }) => ({
    ...top,
    definitions: {
      caches: definitions?.caches ?? [],
      services: definitions?.services ?? [],
      imports: definitions?.imports ?? [],
    },
    pipelines: pipelines ?? [],
    triggers: triggers ?? [],
    ...(definitions && definitions.shared.length > 0 && { sharedPipelines: definitions.shared }),
  }),
  { loose: true },
);

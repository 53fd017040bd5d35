// Property tests of the language, shared by the normal run (test/statemachine/language/properties.test.ts,
// 10,000 cases in all) and `npm run fuzz` (test/fuzz/language.test.ts, FINALE_FUZZ_RUNS cases).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import {
  type Diagnostic,
  parsePipelineFile,
  type ReadResult,
  type Step,
  selectPipeline,
  stepsOf,
} from '../../../statemachine/language/index';

/** How the cases of one run are shared between the properties (fractions of the total). */
export const SHARE = {
  mutations: 0.3,
  randomYaml: 0.4,
  randomText: 0.25,
  generated: 0.03,
  selection: 0.02,
} as const;

/** The real files beside the repository (`npm run test:corpus` and `npm run fuzz` use them). */
export const CORPUS = resolve('../shared/corpus/bitbucket-pipelines');

// Small files keep a case cheap; they cover every feature the corpus uses.
export function corpusSeeds(): string[] {
  return readdirSync(CORPUS)
    .filter((f) => f.endsWith('.yml') && statSync(join(CORPUS, f)).size < 1500)
    .map((f) => readFileSync(join(CORPUS, f), 'utf8'));
}

/** The repository's own pipeline files: seeds that need nothing beside the repository. */
export function repositorySeeds(): string[] {
  const fixtures = resolve('test/statemachine/compiler/fixtures');
  const examples = resolve('examples');
  return [
    ...readdirSync(fixtures)
      .filter((f) => f.endsWith('.yml'))
      .map((f) => join(fixtures, f)),
    ...readdirSync(examples).map((dir) => join(examples, dir, 'bitbucket-pipelines.yml')),
  ].map((path) => readFileSync(path, 'utf8'));
}

/** What holds for any input: no exception, and well-formed diagnostics inside the text. */
export function checkResult(text: string, result: ReadResult): void {
  const lines = text.split('\n');
  const problems: string[] = [];
  const hasError = result.diagnostics.some((d) => d.severity === 'error');
  if (result.ok === hasError) problems.push(`ok is ${result.ok} but errors: ${hasError}`);
  for (const d of result.diagnostics) problems.push(...diagnosticProblems(d, lines));
  // One assertion per case: expect() per field would cost more than the parse.
  if (problems.length > 0) expect.fail(`${problems.join('\n')}\n--- input:\n${text}`);
}

function diagnosticProblems(d: Diagnostic, lines: string[]): string[] {
  const problems: string[] = [];
  const line = lines[d.line - 1] ?? '';
  if (d.file !== 'fuzz.yml') problems.push(`file ${d.file}`);
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(d.code)) problems.push(`code ${d.code}`);
  if (d.message.length === 0) problems.push(`empty message for ${d.code}`);
  if (!(d.line >= 1 && d.line <= lines.length + 1))
    problems.push(`${d.code}: line ${d.line} outside the text`);
  if (!(d.column >= 1 && d.column <= line.length + 2))
    problems.push(`${d.code}: column ${d.column} outside line ${d.line}`);
  return problems;
}

const parse = (text: string) => parsePipelineFile(text, 'fuzz.yml');

// --- mutations of real files ----------------------------------------------------------------------

const SPECIAL = [
  ':',
  ': ',
  '- ',
  '-',
  '*',
  '&a ',
  '*a',
  '<<: ',
  '[',
  ']',
  '{',
  '}',
  "'",
  '"',
  '\t',
  '#',
  '|',
  '>',
  ' ',
  '\n',
  '?',
  '!',
  '%',
  '@',
  '`',
  ',',
  '\u0000',
  '\uFEFF',
];

type Mutation = (text: string) => string;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map((n) => (t: string) => {
    const lines = t.split('\n');
    lines.splice(n % Math.max(1, lines.length), 1);
    return lines.join('\n');
  }),
  fc.nat().map((n) => (t: string) => {
    const lines = t.split('\n');
    const i = n % Math.max(1, lines.length);
    lines.splice(i, 0, lines[i] ?? '');
    return lines.join('\n');
  }),
  fc.tuple(fc.nat(), fc.integer({ min: -4, max: 4 })).map(([n, shift]) => (t: string) => {
    const lines = t.split('\n');
    const i = n % Math.max(1, lines.length);
    const line = lines[i] ?? '';
    lines[i] = shift >= 0 ? ' '.repeat(shift) + line : line.replace(new RegExp(`^ {0,${-shift}}`), '');
    return lines.join('\n');
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...SPECIAL)).map(([n, s]) => (t: string) => {
    const i = n % (t.length + 1);
    return t.slice(0, i) + s + t.slice(i);
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...SPECIAL)).map(([n, s]) => (t: string) => {
    const i = n % Math.max(1, t.length);
    return t.slice(0, i) + s + t.slice(i + 1);
  }),
  fc.nat().map((n) => (t: string) => t.slice(0, n % (t.length + 1))),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => (t: string) => {
    const lines = t.split('\n');
    const i = a % Math.max(1, lines.length);
    const j = b % Math.max(1, lines.length);
    [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
    return lines.join('\n');
  }),
);

/** Random mutations of `seeds` (real files) yield diagnostics, never an exception. */
export function mutationsProperty(seeds: readonly string[]) {
  return fc.property(
    fc.nat({ max: seeds.length - 1 }),
    fc.array(mutation, { minLength: 1, maxLength: 4 }),
    (index, mutations) => {
      const text = mutations.reduce((t, m) => m(t), seeds[index] as string);
      checkResult(text, parse(text));
    },
  );
}

// --- random YAML and random text ---------------------------------------------------------------

const KEYS = [
  'pipelines',
  'default',
  'branches',
  'step',
  'script',
  'name',
  'parallel',
  'final',
  'stage',
  'steps',
  'image',
  'max-time',
  'size',
  'trigger',
  'deployment',
  'services',
  'caches',
  'definitions',
  'custom',
  'variables',
  'artifacts',
  'clone',
  'condition',
  '<<',
];

const key = fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 }));
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null), fc.double()),
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(key, tie('tree'), { maxKeys: 5 }),
  ),
}));

export const randomYamlProperty = fc.property(tree, (value) => {
  const text = stringify(value);
  checkResult(text, parse(text));
});

const TOKENS = [
  ...SPECIAL,
  'pipelines',
  'default',
  'step',
  'script',
  'a',
  'b',
  '1',
  '  ',
  '    ',
  '\n  ',
  '\n    - ',
  '---',
  '...',
  '&x',
  '*x',
  '!!str',
  '0x1F',
  '~',
  'null',
  'yes',
];

export const randomTextProperty = fc.property(
  fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((t) => t.join('')),
  (text) => {
    checkResult(text, parse(text));
  },
);

// --- generated valid files ------------------------------------------------------------------------

const chars = (set: string) => fc.constantFrom(...set.split(''));
const word = fc
  .tuple(
    chars('abcdefghijklmnopqrstuvwxyz'),
    fc.string({ unit: chars('abcdefghijklmnopqrstuvwxyz0123456789-'), maxLength: 10 }),
  )
  .map(([first, rest]) => first + rest);
const command = fc
  .tuple(word, fc.string({ unit: chars('abcdefghijklmnopqrstuvwxyz0123456789 ./=-'), maxLength: 24 }))
  .map(([first, rest]) => (first + rest).trimEnd());

interface GeneratedStep {
  name: string;
  script: string[];
  size?: string;
  'max-time'?: number;
  deployment?: string;
  trigger?: 'manual' | 'automatic';
}

const generatedStep = fc.record(
  {
    name: word,
    script: fc.array(command, { minLength: 1, maxLength: 2 }),
    size: fc.constantFrom('1x', '2x', '4x', '8x', '16x', '32x'),
    'max-time': fc.integer({ min: 1, max: 720 }),
    deployment: word,
    trigger: fc.constantFrom('manual' as const, 'automatic' as const),
  },
  { requiredKeys: ['name', 'script'] },
);

type Item = { step: GeneratedStep } | { parallel: { step: GeneratedStep }[] };
const item: fc.Arbitrary<Item> = fc.oneof(
  { weight: 3, arbitrary: generatedStep.map((step) => ({ step })) },
  {
    weight: 1,
    arbitrary: fc
      .array(generatedStep, { minLength: 1, maxLength: 3 })
      .map((s) => ({ parallel: s.map((step) => ({ step })) })),
  },
);

const pipelineItems = fc
  .tuple(generatedStep, fc.array(item, { maxLength: 2 }), fc.option(generatedStep, { nil: undefined }))
  .map(([first, rest, final]) => {
    const { trigger: _, deployment: __, ...firstStep } = first;
    const items: Record<string, unknown>[] = [{ step: firstStep }, ...rest];
    if (final) {
      const { trigger: _t, deployment: _d, ...finalStep } = final;
      items.push({ final: finalStep });
    }
    // An environment appears once per pipeline (duplicate-deployment): later ones get a suffix.
    const seen = new Set<string>();
    return items.map((entry) => {
      const unique = (step: GeneratedStep): GeneratedStep => {
        if (step.deployment === undefined) return step;
        let name = step.deployment;
        for (let n = 2; seen.has(name); n++) name = `${step.deployment}${n}`;
        seen.add(name);
        return { ...step, deployment: name };
      };
      if ('parallel' in entry)
        return {
          parallel: (entry.parallel as { step: GeneratedStep }[]).map((p) => ({ step: unique(p.step) })),
        };
      if ('step' in entry) return { step: unique(entry.step as GeneratedStep) };
      return entry;
    });
  });

export const generatedFile = fc.record({
  default: fc.option(pipelineItems, { nil: undefined }),
  branches: fc.dictionary(word, pipelineItems, { minKeys: 1, maxKeys: 4 }),
  tags: fc.dictionary(
    word.map((w) => `${w}*`),
    pipelineItems,
    { maxKeys: 2 },
  ),
});

function stepList(items: Record<string, unknown>[]): GeneratedStep[] {
  return items.flatMap((i) =>
    'parallel' in i
      ? (i.parallel as { step: GeneratedStep }[]).map((p) => p.step)
      : [(i.step ?? i.final) as GeneratedStep],
  );
}

export const generatedProperty = fc.property(generatedFile, (pipelines) => {
  const text = stringify({ pipelines: JSON.parse(JSON.stringify(pipelines)) });
  const result = parse(text);
  if (!result.ok)
    expect.fail(`${result.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n')}\n${text}`);
  const expected = [
    ...(pipelines.default ? [['default', pipelines.default] as const] : []),
    ...Object.entries(pipelines.branches).map(([k, v]) => [`branches:${k}`, v] as const),
    ...Object.entries(pipelines.tags).map(([k, v]) => [`tags:${k}`, v] as const),
  ];
  // Compared as one JSON string: expect() per step would cost more than the parse.
  const want = expected
    .map(
      ([k, items]) =>
        [k, stepList(items).map((s) => [s.name, s.script, s['max-time'], s.trigger ?? 'automatic'])] as const,
    )
    .sort(([a], [b]) => a.localeCompare(b));
  const got = result.file.pipelines
    .map(
      (p) =>
        [
          p.key,
          stepsOf(p.items).map((s: Step) => [
            s.name,
            s.script.map((e) => (e.kind === 'command' ? e.text : e.pipe)),
            s.maxTime,
            s.trigger,
          ]),
        ] as const,
    )
    .sort(([a], [b]) => a.localeCompare(b));
  const same = JSON.stringify(got) === JSON.stringify(want);
  if (!same) expect(got).toEqual(want);
});

// --- selection ------------------------------------------------------------------------------------

export const selectionProperty = fc.property(
  generatedFile,
  word,
  fc.constantFrom('[skip ci]', '[ci skip]'),
  (pipelines, tag, skip) => {
    const result = parse(stringify({ pipelines: JSON.parse(JSON.stringify(pipelines)) }));
    if (!result.ok) expect.fail(result.diagnostics.map((d) => d.message).join('\n'));
    const problems: string[] = [];
    for (const branch of Object.keys(pipelines.branches)) {
      // An exact branch name always wins over every glob.
      const exact = selectPipeline(result.file, { kind: 'branch', branch }).pipeline?.key;
      if (exact !== `branches:${branch}`) problems.push(`push to ${branch} selected ${exact}`);
      const skipped = selectPipeline(result.file, {
        kind: 'branch',
        branch,
        message: `x ${skip} y`,
      }).pipeline;
      if (skipped !== null) problems.push(`${skip} still selected ${skipped.key}`);
    }
    // The default pipeline never serves a tag.
    const selected = selectPipeline(result.file, { kind: 'tag', tag }).pipeline;
    if (selected && selected.selector.kind !== 'tags') problems.push(`tag ${tag} selected ${selected.key}`);
    expect(problems).toEqual([]);
  },
);

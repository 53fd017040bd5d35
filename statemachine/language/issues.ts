// zod issues → diagnostics at the YAML position of the offending key or value, worded for people
// who write pipeline files rather than for people who write schemas.
import type * as z from 'zod/mini';
import { CONTEXT_MARK, KNOWN_KEYS } from './declare';
import type { DiagnosticSink } from './diagnostics';
import { nearest } from './suggest';
import type { Path, SourceTree } from './tree';

type Issue = z.core.$ZodIssue;

// Rules about a whole mapping point at the key that holds it.
const KEY_CODES = new Set([
  'script-required',
  'child-pipeline-custom',
  'no-pipelines',
  'item-kind',
  'condition-empty',
  'changesets-empty',
  'image-aws-credentials',
]);

/** Reports issues found at `path` (the root when absent). */
export function reportIssues(
  issues: readonly Issue[],
  tree: SourceTree,
  sink: DiagnosticSink,
  path: Path = [],
): void {
  for (const issue of issues) reportIssue(issue, path, tree, sink);
}

function reportIssue(issue: Issue, prefix: Path, tree: SourceTree, sink: DiagnosticSink): void {
  const path = [...prefix, ...(issue.path as (string | number)[])];
  switch (issue.code) {
    case 'unrecognized_keys':
      for (const key of issue.keys) unknownKey(key, path, contextOf(issue.message), tree, sink);
      return;
    case 'invalid_union':
      union(issue, path, tree, sink);
      return;
    case 'invalid_type':
      invalidType(issue.expected, path, tree, sink);
      return;
    case 'too_small':
      sink.error(tree.locate(path), 'empty-list', `${name(path)} must not be empty`);
      return;
    case 'custom': {
      const code = (issue.params as { code?: string } | undefined)?.code ?? 'invalid-value';
      const message = code === 'empty-value' ? `${name(path)} must not be empty` : issue.message;
      sink.error(tree.locate(path, KEY_CODES.has(code) ? 'key' : 'value'), code, message);
      return;
    }
    case 'invalid_value':
      sink.error(
        tree.locate(path),
        'invalid-value',
        `${name(path)} must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, not ${shown(tree.get(path))}`,
      );
      return;
    default:
      sink.error(tree.locate(path), 'invalid-value', `${name(path)}: ${issue.message}`);
  }
}

function contextOf(message: string): string {
  return message.startsWith(CONTEXT_MARK) ? message.slice(CONTEXT_MARK.length) : 'mapping';
}

function unknownKey(key: string, path: Path, context: string, tree: SourceTree, sink: DiagnosticSink): void {
  const at = tree.locate([...path, key], 'key');
  const STEP_KEYS = KNOWN_KEYS.get('step') ?? [];
  if (context === 'pipeline item' && STEP_KEYS.includes(key)) {
    sink.error(
      at,
      'misplaced-step-key',
      `\`${key}\` sits at the level of \`- step:\`, so it is not part of the step; indent it under \`step:\``,
    );
    return;
  }
  if ((context === 'parallel item' || context === 'stage item') && STEP_KEYS.includes(key)) {
    sink.error(at, 'misplaced-step-key', `\`${key}\` belongs inside \`step:\`; indent it under \`step:\``);
    return;
  }
  const known = KNOWN_KEYS.get(context) ?? [];
  const suggestion = nearest(key, known);
  const where = context === 'mapping' ? '' : ` in ${article(context)}`;
  const hint = suggestion
    ? `; did you mean \`${suggestion}\`?`
    : context === 'pipelines'
      ? '; a pipeline for a branch goes under `branches:`'
      : `; expected one of ${known.join(', ')}`;
  sink.error(at, 'unknown-key', `unknown key \`${key}\`${where}${hint}`);
}

function article(context: string): string {
  if (context === 'pipelines') return '`pipelines`';
  return /^[aeiou]/.test(context) ? `an ${context}` : `a ${context}`;
}

// A union fails on every branch. Branches whose type does not even match the value are noise; if one
// branch is left, its issues are the real ones.
function union(
  issue: z.core.$ZodIssueInvalidUnion,
  path: Path,
  tree: SourceTree,
  sink: DiagnosticSink,
): void {
  const value = tree.get(path);
  const matching = issue.errors.filter(
    (branch) => !branch.some((i) => i.path.length === 0 && i.code === 'invalid_type'),
  );
  if (matching.length >= 1) {
    // Prefer the branch that got furthest: the one with the fewest issues at its root.
    const best = [...matching].sort((a, b) => rootIssues(a) - rootIssues(b))[0] as Issue[];
    for (const inner of best) reportIssue(inner, path, tree, sink);
    return;
  }
  const expected = new Set<string>();
  for (const branch of issue.errors) {
    for (const i of branch) if (i.path.length === 0 && i.code === 'invalid_type') expected.add(i.expected);
  }
  typeMismatch([...expected], value, path, tree, sink);
}

function rootIssues(issues: readonly Issue[]): number {
  return issues.filter((i) => i.path.length === 0).length;
}

function invalidType(expected: string, path: Path, tree: SourceTree, sink: DiagnosticSink): void {
  typeMismatch([expected], tree.get(path), path, tree, sink);
}

function typeMismatch(
  expected: string[],
  value: unknown,
  path: Path,
  tree: SourceTree,
  sink: DiagnosticSink,
): void {
  const last = path[path.length - 1];
  if (value === undefined) {
    sink.error(tree.locate(path, 'key'), 'missing-key', `${name(path)} is required here`);
    return;
  }
  if (value === null && (last === 'step' || last === 'final')) {
    sink.error(
      tree.locate(path, 'key'),
      'empty-step',
      `\`${last}\` is empty: its keys (name, script, …) must be indented further than \`${last}:\``,
    );
    return;
  }
  if (value === null) {
    sink.error(
      tree.locate(path, 'key'),
      'empty-value',
      `${name(path)} has no value; expected ${describe(expected)}`,
    );
    return;
  }
  let hint = '';
  if ((last === 'script' || last === 'after-script') && expected.includes('array')) {
    hint = '; write each command on its own line starting with `- `';
  } else if (typeof last === 'number' && isScriptItem(path) && typeof value === 'object') {
    hint = '; a command containing `: ` must be quoted, or it reads as a mapping';
  }
  sink.error(
    tree.locate(path),
    'invalid-type',
    `${name(path)} must be ${describe(expected)}, not ${kind(value)}${hint}`,
  );
}

function isScriptItem(path: Path): boolean {
  const parent = path[path.length - 2];
  return parent === 'script' || parent === 'after-script';
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

function describe(expected: string[]): string {
  const words = new Set<string>();
  for (const e of expected) {
    // The text type of the schema is a union of string, number and boolean; say "text".
    if (e === 'number' && expected.includes('string')) continue;
    if (e === 'boolean' && expected.includes('string')) continue;
    words.add(TYPE_WORDS[e] ?? e);
  }
  const list = [...words];
  return list.length <= 1
    ? (list[0] ?? 'a value')
    : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
}

function kind(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'empty';
  switch (typeof value) {
    case 'object':
      return 'a mapping';
    case 'string':
      return `the text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return String(value);
    default:
      return typeof value;
  }
}

function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : kind(value);
}

/** "`max-time`", or "item 2 of `script`" for list entries. */
export function name(path: Path): string {
  const last = path[path.length - 1];
  if (typeof last === 'number') {
    const parent = path[path.length - 2];
    return `item ${last + 1} of ${parent === undefined ? 'the list' : `\`${parent}\``}`;
  }
  return last === undefined ? 'the file' : `\`${last}\``;
}

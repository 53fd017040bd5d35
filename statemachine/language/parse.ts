// Text → model and diagnostics, in stages that each stop early on input the next cannot use:
// raw checks → YAML → source tree → schema → model → cross-key rules.

import * as z from 'zod/mini';
import { itemOf, KNOWN_KEYS, keyOf, notesOf } from './declare';
import { type DiagnosticSink, DiagnosticSink as Sink } from './diagnostics';
import { reportIssues } from './issues';
import { LIMITS } from './limits';
import type { PipelineFile, Position, ReadResult } from './model';
import { RULES, type RuleContext } from './rules/index';
import { triggerReferences } from './rules/triggers';
import { file as fileSchema } from './schema';
import { checkText } from './source';
import { nearest } from './suggest';
import { buildTree, type SourceTree, type Value } from './tree';
import { UNSUPPORTED } from './unsupported';
import { parseYaml } from './yaml';

type Mapping = { readonly [key: string]: Value };

/** Parses and validates one file's text; pure. `path` names the file in every diagnostic. */
export function parsePipelineFile(text: string, path: string): ReadResult {
  const sink = new Sink(path);
  const file = parseInto(text, sink);
  return result(sink, file);
}

/** The same, for callers that already hold a sink (the reader reports size and encoding first). */
export function parseInto(text: string, sink: DiagnosticSink): PipelineFile | undefined {
  const body = checkText(text, sink);
  if (body === undefined) return undefined;
  const yaml = parseYaml(body, sink);
  // Past a YAML syntax error the document is a guess; anything more would mislead.
  if (!yaml || sink.hasErrors) return undefined;
  const tree = buildTree(yaml.doc, yaml.lines, sink);
  if (!tree) return undefined;
  const root = tree.root;
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    sink.error(
      tree.rootAt,
      'not-a-mapping',
      root === null
        ? 'the file is empty; it needs at least a `pipelines:` section'
        : `the file must be a YAML mapping with a \`pipelines:\` key, not ${Array.isArray(root) ? 'a list' : 'a single value'}`,
    );
    return undefined;
  }
  return validate(root, tree, sink);
}

export function result(sink: DiagnosticSink, file: PipelineFile | undefined): ReadResult {
  const all = sink.list();
  const diagnostics =
    all.length > LIMITS.maxDiagnostics
      ? [
          ...all.slice(0, LIMITS.maxDiagnostics),
          {
            ...(all[LIMITS.maxDiagnostics] as (typeof all)[number]),
            code: 'too-many-diagnostics',
            message: `${all.length - LIMITS.maxDiagnostics} more problems not shown`,
          },
        ]
      : all;
  return file && !sink.hasErrors ? { ok: true, file, diagnostics } : { ok: false, diagnostics };
}

function validate(root: Mapping, tree: SourceTree, sink: DiagnosticSink): PipelineFile | undefined {
  extraKeys(root, TOP_LEVEL_KEYS, 'the top level', tree, sink);
  const definitions = isMapping(root.definitions) ? root.definitions : undefined;
  if (definitions) extraKeys(definitions, DEFINITION_KEYS, '`definitions`', tree, sink);

  // Every part of the file is isolated, so the file as a whole always parses; its notes hold the
  // problems of the parts that did not and the warnings of those that did.
  const parsed = z.safeParse(fileSchema, root);
  if (!parsed.success) {
    reportIssues(parsed.error.issues, tree, sink);
    return undefined;
  }
  for (const note of notesOf(parsed.data)) {
    if (note.kind === 'issues') reportIssues(note.issues, tree, sink, note.path);
    else sink[note.kind](note.at, note.code, note.message);
  }
  const model = parsed.data;

  const context: RuleContext = {
    sink,
    keyAt: keyOf,
    itemAt: itemOf,
    definedServices: new Set(model.definitions.services.map((s) => s.name)),
    definedCaches: new Set(model.definitions.caches.map((c) => c.name)),
    importSources: new Set(model.definitions.imports.map((i) => i.name)),
    customPipelines: new Set(
      model.pipelines.flatMap((p) => (p.selector.kind === 'custom' ? [p.selector.pattern ?? ''] : [])),
    ),
  };
  for (const pipeline of [...model.pipelines, ...(model.sharedPipelines ?? [])])
    for (const rule of RULES) rule(pipeline, context);
  triggerReferences(model.triggers, context);

  if (sink.hasErrors) return undefined;
  return { path: sink.file, ...model };
}

function isMapping(value: Value | undefined): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const PIPELINE_SECTIONS = KNOWN_KEYS.get('pipelines') ?? [];
const TOP_LEVEL_KEYS = KNOWN_KEYS.get('the top level') ?? [];
const DEFINITION_KEYS = KNOWN_KEYS.get('definitions') ?? [];

// Keys Bitbucket does not know. A key that only holds anchors is a common way to share YAML and
// Bitbucket accepts it; anything else is a mistake, reported with the nearest known key.
function extraKeys(
  mapping: Mapping,
  known: readonly string[],
  where: string,
  tree: SourceTree,
  sink: DiagnosticSink,
): void {
  for (const key of tree.keys(mapping)) {
    if (known.includes(key)) continue;
    const entry = tree.entry(mapping, key);
    const at: Position = entry?.key ?? tree.positionOf(mapping);
    // `definitions.steps` is where Bitbucket's own documentation keeps step anchors.
    if (where === '`definitions`' && key === 'steps') continue;
    // Bitbucket ignores other keys under `definitions` too (files keep all sorts of shared YAML there).
    if (where === '`definitions`' && !entry?.anchors) {
      sink.warning(at, 'unknown-definition', UNSUPPORTED.unknownDefinition(key, nearest(key, known)));
      continue;
    }
    if (entry?.anchors) {
      const shown = where === '`definitions`' ? `definitions.${key}` : key;
      sink.warning(at, 'anchors-only-key', UNSUPPORTED.anchorsOnly(shown));
      continue;
    }
    if (where === 'the top level' && PIPELINE_SECTIONS.includes(key)) {
      sink.error(
        at,
        'misplaced-section',
        `\`${key}\` must be inside \`pipelines:\` (indent it under \`pipelines:\`)`,
      );
      continue;
    }
    const suggestion = nearest(key, known);
    sink.error(
      at,
      'unknown-key',
      `unknown key \`${key}\` at ${where}${suggestion ? `; did you mean \`${suggestion}\`?` : `; expected one of ${known.join(', ')}`}`,
    );
  }
}

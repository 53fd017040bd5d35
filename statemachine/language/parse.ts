// Text → model and diagnostics, in stages that each stop early on input the next cannot use:
// raw checks → YAML → source tree → schema → model → cross-key rules.

import { ModelBuilder } from './build';
import { type DiagnosticSink, DiagnosticSink as Sink } from './diagnostics';
import { reportIssues } from './issues';
import { LIMITS } from './limits';
import type { Pipeline, PipelineFile, Position, ReadResult, SelectorKind } from './model';
import { RULES, type RuleContext } from './rules/index';
import { DEFINITION_KEYS, file as fileSchema, KNOWN_KEYS, TOP_LEVEL_KEYS } from './schema';
import { checkText } from './source';
import { nearest } from './suggest';
import { buildTree, type Path, type SourceTree, type Value } from './tree';
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
  if (isMapping(root.labels))
    sink.warning(tree.locate(['labels'], 'key'), 'unsupported-labels', UNSUPPORTED.labels());

  const parsed = fileSchema.safeParse(root);
  const badPaths = parsed.success ? [] : parsed.error.issues.map((i) => i.path.map(String).join('\u0000'));
  if (!parsed.success) reportIssues(parsed.error.issues, tree, sink);
  const clean = (path: Path): boolean => {
    const prefix = path.map(String).join('\u0000');
    return !badPaths.some(
      (bad) => bad === prefix || bad.startsWith(`${prefix}\u0000`) || prefix.startsWith(`${bad}\u0000`),
    );
  };

  const builder = new ModelBuilder(tree, sink);
  const image = clean(['image']) ? builder.image(root, 'image') : undefined;
  const clone = clean(['clone']) ? builder.clone(root, 'clone') : undefined;
  const options = clean(['options']) ? builder.options(root, 'options') : undefined;
  const caches = definitions && clean(['definitions', 'caches']) ? builder.caches(definitions) : [];
  const services = definitions && clean(['definitions', 'services']) ? builder.services(definitions) : [];

  const pipelines: Pipeline[] = [];
  const sections = isMapping(root.pipelines) ? root.pipelines : {};
  const build = (
    container: Mapping,
    name: string,
    path: Path,
    kind: SelectorKind,
    pattern?: string,
    destination?: string,
  ) => {
    if (!clean(path)) return;
    const { selector, key } = builder.selector(kind, pattern, destination);
    pipelines.push(builder.pipeline(container, name, path, selector, key));
  };
  for (const section of tree.keys(sections)) {
    const value = sections[section];
    const path = ['pipelines', section];
    if (section === 'default') {
      build(sections, 'default', path, 'default');
      continue;
    }
    if (!isMapping(value) || !isSelector(section)) continue;
    for (const pattern of tree.keys(value)) {
      const entry = value[pattern];
      if (section === 'pull-requests' && isMapping(entry) && isMapping(entry.destinations)) {
        const destinations = entry.destinations;
        for (const destination of tree.keys(destinations)) {
          build(
            destinations,
            destination,
            [...path, pattern, 'destinations', destination],
            section,
            pattern,
            destination,
          );
        }
        continue;
      }
      build(value, pattern, [...path, pattern], section, pattern);
    }
  }

  const shared: Pipeline[] = [];
  if (definitions && isMapping(definitions.pipelines)) {
    sink.warning(tree.locate(['definitions', 'pipelines'], 'key'), 'shared-pipelines', UNSUPPORTED.shared());
    const sharedPipelines = definitions.pipelines;
    for (const name of tree.keys(sharedPipelines)) {
      const path = ['definitions', 'pipelines', name];
      if (!clean(path)) continue;
      shared.push(
        builder.pipeline(sharedPipelines, name, path, { kind: 'custom', pattern: name }, `shared:${name}`),
      );
    }
  }

  const context: RuleContext = {
    sink,
    keyAt: (object, key) => builder.keyOf(object, key),
    itemAt: (object, key, index) => builder.itemAt(object, key, index),
    definedServices: new Set(services.map((s) => s.name)),
    definedCaches: new Set(caches.map((c) => c.name)),
    customPipelines: new Set(
      pipelines.filter((p) => p.selector.kind === 'custom').map((p) => p.selector.pattern as string),
    ),
  };
  for (const pipeline of [...pipelines, ...shared]) for (const rule of RULES) rule(pipeline, context);

  if (sink.hasErrors) return undefined;
  return {
    path: sink.file,
    ...(image && { image }),
    ...(clone && { clone }),
    ...(options && { options }),
    definitions: { caches, services },
    pipelines,
    ...(shared.length > 0 && { sharedPipelines: shared }),
  };
}

const SELECTORS = new Set(['branches', 'tags', 'bookmarks', 'pull-requests', 'custom']);
function isSelector(section: string): section is Exclude<SelectorKind, 'default'> {
  return SELECTORS.has(section);
}

function isMapping(value: Value | undefined): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const PIPELINE_SECTIONS = KNOWN_KEYS.get('pipelines') ?? [];

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

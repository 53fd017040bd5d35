// Which pipeline a trigger runs, following Bitbucket's documented precedence (see the README):
// an exact name beats any glob, a more specific glob beats a more generic one, `default` serves
// pushes to branches no pattern matched (never tags), and `[skip ci]` starts nothing.
import { evaluateCondition, parseCondition } from './conditions';
import { compareSpecificity, matchGlob, type Specificity } from './glob';
import type { Pipeline, PipelineFile, Selection, SelectorKind, TriggerEvent } from './model';

const SKIP = /\[(skip ci|ci skip)\]/i;

/** A pipeline by key: `default`, `branches:main`, `custom:deploy`, `pull-requests:**:main`, … */
export function findPipeline(file: PipelineFile, key: string): Pipeline | undefined {
  return file.pipelines.find((p) => p.key === key);
}

export function selectPipeline(file: PipelineFile, trigger: TriggerEvent): Selection {
  if (trigger.kind !== 'custom' && trigger.message !== undefined) {
    const skip = SKIP.exec(trigger.message);
    if (skip)
      return { pipeline: null, reason: `the commit message contains ${skip[0]}, so no pipeline starts` };
  }
  switch (trigger.kind) {
    case 'branch':
      return byName(file, 'branches', trigger.branch, 'branch');
    case 'bookmark':
      return byName(file, 'bookmarks', trigger.bookmark, 'bookmark');
    case 'tag':
      return byName(file, 'tags', trigger.tag, 'tag');
    case 'pull-request':
      return pullRequest(file, trigger.source, trigger.destination);
    case 'custom':
      return custom(file, trigger.name, trigger.variables ?? {});
  }
}

interface Candidate {
  readonly pipeline: Pipeline;
  readonly score: Specificity;
}

function ranked(pipelines: readonly Pipeline[], kind: SelectorKind, name: string): Candidate[] {
  const candidates: Candidate[] = [];
  for (const pipeline of pipelines) {
    if (pipeline.selector.kind !== kind || pipeline.selector.pattern === undefined) continue;
    const score = matchGlob(pipeline.selector.pattern, name);
    if (score) candidates.push({ pipeline, score });
  }
  // Stable sort: among equally specific patterns, the one written first wins.
  return candidates.sort((a, b) => compareSpecificity(a.score, b.score));
}

function byName(
  file: PipelineFile,
  kind: 'branches' | 'tags' | 'bookmarks',
  name: string,
  noun: string,
): Selection {
  const candidates = ranked(file.pipelines, kind, name);
  const best = candidates[0];
  if (best) return chosen(best.pipeline, `${noun} \`${name}\` ${why(best, candidates.length)}`);
  if (kind === 'tags') {
    return {
      pipeline: null,
      reason: `no tag pattern matches \`${name}\` (the default pipeline never runs for tags)`,
    };
  }
  const fallback = file.pipelines.find((p) => p.selector.kind === 'default');
  if (fallback) {
    return chosen(fallback, `no ${noun} pattern matches \`${name}\`, so the default pipeline runs`);
  }
  return {
    pipeline: null,
    reason: `no ${noun} pattern matches \`${name}\` and there is no default pipeline`,
  };
}

function why(best: Candidate, count: number): string {
  const how = best.score.exact
    ? 'is named exactly by'
    : best.score.exactAlternative
      ? 'is named by an alternative of'
      : 'matches';
  const others = count > 1 ? ` (the most specific of ${count} matching patterns)` : '';
  return `${how} \`${best.pipeline.key}\`${others}`;
}

// Pull requests match the source branch; pipelines under `destinations:` also need the
// destination branch to match, and beat a pattern without destinations for the same source.
function pullRequest(file: PipelineFile, source: string, destination: string | undefined): Selection {
  const candidates: (Candidate & { destination?: Specificity })[] = [];
  for (const candidate of ranked(file.pipelines, 'pull-requests', source)) {
    const dest = candidate.pipeline.selector.destination;
    if (dest === undefined) {
      candidates.push(candidate);
      continue;
    }
    if (destination === undefined) continue;
    const score = matchGlob(dest, destination);
    if (score) candidates.push({ ...candidate, destination: score });
  }
  candidates.sort(
    (a, b) =>
      compareSpecificity(a.score, b.score) ||
      (a.destination && b.destination
        ? compareSpecificity(a.destination, b.destination)
        : Number(Boolean(b.destination)) - Number(Boolean(a.destination))),
  );
  const described =
    destination === undefined ? `from \`${source}\`` : `from \`${source}\` to \`${destination}\``;
  const best = candidates[0];
  if (!best) {
    return { pipeline: null, reason: `no pull-requests pattern matches the pull request ${described}` };
  }
  return chosen(best.pipeline, `the pull request ${described} ${why(best, candidates.length)}`);
}

function custom(file: PipelineFile, name: string, provided: Readonly<Record<string, string>>): Selection {
  const pipeline = file.pipelines.find((p) => p.selector.kind === 'custom' && p.selector.pattern === name);
  if (!pipeline) {
    const names = file.pipelines.filter((p) => p.selector.kind === 'custom').map((p) => p.selector.pattern);
    return {
      pipeline: null,
      reason: `there is no custom pipeline \`${name}\`${names.length ? ` (custom pipelines: ${names.join(', ')})` : ''}`,
    };
  }
  const { variables, errors } = resolveVariables(pipeline, provided);
  if (errors.length > 0) {
    return { pipeline: null, reason: `the variables for \`${pipeline.key}\` are not valid`, errors };
  }
  return chosen(pipeline, `\`${pipeline.key}\` was asked for by name`, variables);
}

/** Applies defaults, checks allowed-values, and reports missing and undeclared variables. */
export function resolveVariables(
  pipeline: Pipeline,
  provided: Readonly<Record<string, string>>,
): { variables: Record<string, string>; errors: string[] } {
  const variables: Record<string, string> = {};
  const errors: string[] = [];
  const declared = new Set(pipeline.variables.map((v) => v.name));
  for (const name of Object.keys(provided)) {
    if (!declared.has(name)) errors.push(`\`${name}\` is not a variable of \`${pipeline.key}\``);
  }
  for (const variable of pipeline.variables) {
    const value = Object.hasOwn(provided, variable.name) ? provided[variable.name] : variable.default;
    if (value === undefined) {
      errors.push(`\`${variable.name}\` is required: it has no default`);
      continue;
    }
    if (variable.allowedValues && !variable.allowedValues.includes(value)) {
      errors.push(
        `\`${variable.name}\` must be one of ${variable.allowedValues.map((v) => JSON.stringify(v)).join(', ')}, not ${JSON.stringify(value)}`,
      );
      continue;
    }
    variables[variable.name] = value;
  }
  return { variables, errors };
}

/** The trigger events a repository event fires, and the variables their conditions see. */
function firedBy(event: TriggerEvent): { events: readonly string[]; variables: Record<string, string> } {
  switch (event.kind) {
    case 'branch':
      return { events: ['repository-push'], variables: { BITBUCKET_BRANCH: event.branch } };
    case 'tag':
      return { events: ['repository-push'], variables: { BITBUCKET_TAG: event.tag } };
    case 'bookmark':
      return { events: ['repository-push'], variables: { BITBUCKET_BOOKMARK: event.bookmark } };
    case 'pull-request':
      return {
        // New commits on a pull request update it and push to it; opening it creates it.
        events:
          event.action === 'updated' ? ['pullrequest-updated', 'pullrequest-push'] : ['pullrequest-created'],
        variables: {
          BITBUCKET_BRANCH: event.source,
          ...(event.destination !== undefined && { BITBUCKET_PR_DESTINATION_BRANCH: event.destination }),
        },
      };
    case 'custom':
      return { events: [], variables: {} };
  }
}

/**
 * The custom pipelines the file's `triggers` start for an event, besides the pipeline
 * selectPipeline chooses: every trigger whose condition holds, each pipeline once, in the order
 * they are written ("they can be configured to run as many pipelines as you need in parallel").
 */
export function triggeredPipelines(file: PipelineFile, event: TriggerEvent): Selection[] {
  if (event.kind !== 'custom' && event.message !== undefined && SKIP.test(event.message)) return [];
  const { events, variables } = firedBy(event);
  const started = new Set<string>();
  const selections: Selection[] = [];
  for (const trigger of file.triggers) {
    if (!events.includes(trigger.event)) continue;
    const parsed = parseCondition(trigger.condition);
    // The file was validated, so its conditions parse.
    if (!parsed.ok) throw new Error(`an invalid trigger condition passed validation: ${parsed.message}`);
    if (!evaluateCondition(parsed.condition, variables)) continue;
    for (const name of trigger.pipelines) {
      if (started.has(name)) continue;
      started.add(name);
      const pipeline = findPipeline(file, `custom:${name}`);
      if (!pipeline) throw new Error(`a trigger names the custom pipeline ${name}, which validation found`);
      const reason = `the \`${trigger.event}\` trigger's condition \`${trigger.condition}\` holds`;
      const resolved = resolveVariables(pipeline, {});
      selections.push(
        resolved.errors.length > 0
          ? {
              pipeline: null,
              reason: `${reason}, but \`${pipeline.key}\` needs variables`,
              errors: resolved.errors,
            }
          : chosen(pipeline, reason, resolved.variables),
      );
    }
  }
  return selections;
}

function chosen(pipeline: Pipeline, reason: string, variables: Record<string, string> = {}): Selection {
  if (pipeline.importFrom !== undefined) {
    return {
      pipeline: null,
      reason: `${reason}, but it is imported from ${pipeline.importFrom}, which Finale cannot run`,
    };
  }
  return { pipeline, variables, reason };
}

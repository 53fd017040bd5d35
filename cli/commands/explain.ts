import { type Command, Option } from 'commander';
import { type Selection, stepsOf, type TriggerEvent } from '../../statemachine/language/model';
import { UsageError } from '../../vocabulary/errors';
import { out } from '../output';
import { printErrors } from './diagnostics';

interface ExplainOptions {
  file: string;
  branch?: string;
  tag?: string;
  bookmark?: string;
  pr?: string;
  prEvent?: 'created' | 'updated';
  custom?: string;
  message?: string;
  var: string[];
  json?: boolean;
}

function triggerFrom(options: ExplainOptions): TriggerEvent {
  const given = (['branch', 'tag', 'bookmark', 'pr', 'custom'] as const).filter(
    (k) => options[k] !== undefined,
  );
  if (given.length !== 1) {
    throw new UsageError('give exactly one of --branch, --tag, --bookmark, --pr or --custom');
  }
  if (options.var.length > 0 && options.custom === undefined) {
    throw new UsageError('--var is only for custom pipelines (--custom)');
  }
  const message = options.message === undefined ? {} : { message: options.message };
  if (options.branch !== undefined) return { kind: 'branch', branch: options.branch, ...message };
  if (options.tag !== undefined) return { kind: 'tag', tag: options.tag, ...message };
  if (options.bookmark !== undefined) return { kind: 'bookmark', bookmark: options.bookmark, ...message };
  if (options.pr !== undefined) {
    // Branch names cannot contain `:`, so the first one separates source and destination.
    const split = options.pr.indexOf(':');
    const source = split === -1 ? options.pr : options.pr.slice(0, split);
    const destination = split === -1 ? undefined : options.pr.slice(split + 1);
    if (source === '' || destination === '') throw new UsageError('--pr takes SOURCE or SOURCE:DESTINATION');
    return {
      kind: 'pull-request',
      source,
      ...(destination !== undefined && { destination }),
      ...(options.prEvent && { action: options.prEvent }),
      ...message,
    };
  }
  const variables: Record<string, string> = {};
  for (const pair of options.var) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--var takes NAME=VALUE, not ${JSON.stringify(pair)}`);
    variables[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { kind: 'custom', name: options.custom as string, variables, ...message };
}

export function register(program: Command): void {
  program
    .command('explain')
    .description(
      'Say which pipelines a push, tag, pull request or custom run would start (its selector and its triggers), and why',
    )
    .option('-f, --file <path>', 'the pipeline file', 'bitbucket-pipelines.yml')
    .option('--branch <name>', 'a push to this branch')
    .option('--tag <name>', 'a push of this tag')
    .option('--bookmark <name>', 'a push to this Mercurial bookmark')
    .option('--pr <source[:destination]>', 'a pull request from SOURCE (into DESTINATION)')
    .addOption(
      new Option('--pr-event <event>', 'the pull request was opened (created) or given new commits (updated)')
        .choices(['created', 'updated'])
        .default('created'),
    )
    .option('--custom <name>', 'a custom pipeline started by name')
    .option('--message <text>', 'the commit message ([skip ci] starts nothing)')
    .addOption(
      new Option('--var <name=value>', 'a custom pipeline variable (repeatable)')
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([]),
    )
    .option('--json', 'print JSON instead of text')
    .addHelpText(
      'after',
      '\nExit codes: 0 a pipeline would run, 1 none would (or the file or variables are invalid), 2 usage or unreadable file.',
    )
    .action(async (options: ExplainOptions) => {
      const { readPipelineFile } = await import('../../statemachine/language/read');
      const { selectPipeline, triggeredPipelines } = await import('../../statemachine/language/select');
      const trigger = triggerFrom(options);
      const result = await readPipelineFile(options.file);
      printErrors(result.diagnostics);
      if (!result.ok) {
        process.exitCode = 1;
        return;
      }
      const selection = selectPipeline(result.file, trigger);
      // The file's `triggers` may start custom pipelines besides the one its selectors choose.
      const triggered = triggeredPipelines(result.file, trigger);
      process.exitCode = [selection, ...triggered].some((s) => s.pipeline) ? 0 : 1;
      if (options.json) {
        const json = { ...asJson(selection), triggered: triggered.map(asJson) };
        process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
        return;
      }
      print(selection, 'runs');
      for (const also of triggered) print(also, 'also runs');
    });
}

function asJson({ pipeline, ...rest }: Selection) {
  return { ...rest, pipeline: pipeline?.key ?? null, steps: pipeline ? stepsOf(pipeline.items) : [] };
}

function print(selection: Selection, verb: string): void {
  if (!selection.pipeline) {
    process.stdout.write(`No pipeline ${verb}: ${selection.reason}.\n`);
    for (const error of selection.errors ?? []) process.stdout.write(`  ${out.red(error)}\n`);
    return;
  }
  process.stdout.write(`${out.bold(selection.pipeline.key)} ${verb}: ${selection.reason}.\n`);
  for (const [name, value] of Object.entries(selection.variables)) {
    process.stdout.write(`  variable ${name}=${value}\n`);
  }
  stepsOf(selection.pipeline.items).forEach((step, i) => {
    const label = step.name ?? `Step ${i + 1}`;
    const notes = [
      step.kind === 'final' && 'final',
      step.trigger === 'manual' && 'manual',
      step.deployment !== undefined && `deploys to ${step.deployment}`,
    ].filter(Boolean);
    process.stdout.write(`  ${i + 1}. ${label}${notes.length ? ` (${notes.join(', ')})` : ''}\n`);
  });
}

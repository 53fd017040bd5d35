// Reading the pipeline file and choosing a pipeline, for the commands that work without the server.

import { execFileSync } from 'node:child_process';
import { type Pipeline, type PipelineFile, readPipelineFile } from '../statemachine/language/index';
import { pickPipeline } from '../statemachine/language/pick';
import { FinaleError } from '../vocabulary/errors';
import { printErrors } from './commands/diagnostics';

function currentBranch(cwd = process.cwd()): string | undefined {
  try {
    const branch = execFileSync('git', ['symbolic-ref', '--short', '-q', 'HEAD'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return branch || undefined;
  } catch {
    return undefined;
  }
}

/** Reads `path`, prints its errors, and returns the chosen pipeline; invalid input ends the command. */
export async function choosePipeline(
  path: string,
  key: string | undefined,
  options: { invalidExitCode?: number; variables?: Record<string, string> } = {},
): Promise<{ file: PipelineFile; pipeline: Pipeline; reason: string; variables: Record<string, string> }> {
  const read = await readPipelineFile(path);
  printErrors(read.diagnostics);
  const invalid = options.invalidExitCode ?? 1;
  if (!read.ok) throw new FinaleError(`${path} is not valid`, { exitCode: invalid });
  const branch = key === undefined ? currentBranch() : undefined;
  const selection = pickPipeline(read.file, {
    ...(key !== undefined ? { key } : {}),
    ...(branch ? { branch } : {}),
    ...(options.variables ? { variables: options.variables } : {}),
  });
  if (!selection.pipeline) {
    const errors = selection.errors?.length ? `\n  ${selection.errors.join('\n  ')}` : '';
    throw new FinaleError(`no pipeline to run: ${selection.reason}${errors}`, { exitCode: invalid });
  }
  return {
    file: read.file,
    pipeline: selection.pipeline,
    reason: selection.reason,
    variables: { ...selection.variables },
  };
}

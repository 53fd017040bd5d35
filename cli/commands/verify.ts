import type { Command } from 'commander';
import type { Pipeline, PipelineFile } from '../../statemachine/language/model';
import type { Property, Verdict, Violation } from '../../statemachine/verify/index';
import { out } from '../output';

interface VerifyOptions {
  file: string;
  all?: boolean;
  json?: boolean;
}

/** A violation as reported: with its counterexample written out. */
type Reported = Violation & { readonly counterexample: string };

/** One pipeline's result: its verdict, or why it could not be compiled. */
type Report = { readonly pipeline: string } & (
  | { readonly verdict: Omit<Verdict, 'violations'> & { readonly violations: readonly Reported[] } }
  | { readonly error: string }
);

async function pipelinesToVerify(
  path: string,
  key: string | undefined,
  all: boolean,
): Promise<{ file: PipelineFile; pipelines: readonly Pipeline[] }> {
  if (!all) {
    const { choosePipeline } = await import('../pipeline-choice');
    const { file, pipeline } = await choosePipeline(path, key);
    return { file, pipelines: [pipeline] };
  }
  // Every pipeline of the file, as `finale pipelines` lists them: no selection, so no branch needed.
  const { readPipelineFile } = await import('../../statemachine/language/read');
  const { printErrors } = await import('./diagnostics');
  const { FinaleError } = await import('../../vocabulary/errors');
  const read = await readPipelineFile(path);
  printErrors(read.diagnostics);
  if (!read.ok) throw new FinaleError(`${path} is not valid`);
  return { file: read.file, pipelines: read.file.pipelines };
}

function printReport(path: string, report: Report, properties: Readonly<Record<Property, string>>): void {
  const where = `${path}: ${report.pipeline}:`;
  if ('error' in report) {
    process.stdout.write(`${where} ${out.red('not compiled')}: ${report.error}\n`);
    return;
  }
  const { verdict } = report;
  if (verdict.verified) {
    process.stdout.write(
      `${where} ${out.green('verified')} (${verdict.states} states, ${verdict.paths} paths explored)\n`,
    );
    return;
  }
  const count = verdict.violations.length;
  process.stdout.write(`${where} ${out.red(`${count} violation${count === 1 ? '' : 's'}`)}\n`);
  for (const violation of verdict.violations) {
    process.stdout.write(
      `  ${out.bold(violation.property)} (${properties[violation.property]}): ${violation.message}\n` +
        `    ${violation.counterexample}\n`,
    );
  }
}

function toJson(report: Report) {
  if ('error' in report) return { pipeline: report.pipeline, verified: false, error: report.error };
  const { verdict } = report;
  return {
    pipeline: report.pipeline,
    verified: verdict.verified,
    states: verdict.states,
    paths: verdict.paths,
    violations: verdict.violations,
  };
}

export function register(program: Command): void {
  program
    .command('verify')
    .description(
      'Prove that every path of a compiled pipeline runs its final step once, then Finish run, releases its locks and catches every error',
    )
    .argument(
      '[pipeline]',
      'a pipeline key: default, branches:main, custom:deploy, …; default: what a push of the current branch runs',
    )
    .option('-f, --file <path>', 'the pipeline file', 'bitbucket-pipelines.yml')
    .option('--all', 'verify every pipeline of the file')
    .option('--json', 'print one JSON report on stdout instead of text')
    .addHelpText(
      'after',
      '\nExit codes: 0 every pipeline verified, 1 a violation, an invalid file or no such pipeline, 2 usage or unreadable file.',
    )
    .action(async (key: string | undefined, options: VerifyOptions) => {
      const { UsageError } = await import('../../vocabulary/errors');
      if (options.all && key !== undefined) throw new UsageError('give a pipeline or --all, not both');
      const { CompileError, compile } = await import('../../statemachine/compiler/index');
      const { formatCounterexample, PROPERTIES, verifyPlan } = await import(
        '../../statemachine/verify/index'
      );
      const { file, pipelines } = await pipelinesToVerify(options.file, key, options.all === true);
      const reports: Report[] = pipelines.map((pipeline) => {
        try {
          const verdict = verifyPlan(compile({ file, pipeline }));
          const violations = verdict.violations.map((v) => ({
            ...v,
            counterexample: formatCounterexample(v),
          }));
          return { pipeline: pipeline.key, verdict: { ...verdict, violations } };
        } catch (error) {
          if (!(error instanceof CompileError)) throw error;
          return { pipeline: pipeline.key, error: error.message };
        }
      });
      const verified = reports.every((r) => 'verdict' in r && r.verdict.verified);
      process.exitCode = verified ? 0 : 1;
      if (options.json) {
        const report = { file: options.file, verified, pipelines: reports.map(toJson) };
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      for (const report of reports) printReport(options.file, report, PROPERTIES);
    });
}

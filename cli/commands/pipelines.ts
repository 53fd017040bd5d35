import type { Command } from 'commander';
import { type Pipeline, stepsOf } from '../../statemachine/language/model';
import { out } from '../output';
import { printErrors } from './diagnostics';

/** One row per pipeline: what the listing shows, also as JSON. */
function summarize(pipeline: Pipeline) {
  const steps = stepsOf(pipeline.items);
  const deployments = new Set<string>();
  for (const item of pipeline.items) {
    if (item.kind === 'stage' && item.deployment !== undefined) deployments.add(item.deployment);
  }
  for (const step of steps) if (step.deployment !== undefined) deployments.add(step.deployment);
  return {
    key: pipeline.key,
    selector: pipeline.selector.kind,
    ...(pipeline.selector.pattern !== undefined && { pattern: pipeline.selector.pattern }),
    ...(pipeline.selector.destination !== undefined && { destination: pipeline.selector.destination }),
    steps: steps.length,
    deployments: [...deployments],
    final: steps.some((s) => s.kind === 'final'),
    ...(pipeline.importFrom !== undefined && { importFrom: pipeline.importFrom }),
  };
}

export function register(program: Command): void {
  program
    .command('pipelines')
    .description('List the pipelines of a file: selector, step count, deployments, final step')
    .option('-f, --file <path>', 'the pipeline file', 'bitbucket-pipelines.yml')
    .option('--json', 'print JSON instead of a table')
    .addHelpText('after', '\nExit codes: 0 listed, 1 the file is invalid, 2 the file cannot be read.')
    .action(async (options: { file: string; json?: boolean }) => {
      const { readPipelineFile } = await import('../../statemachine/language/read');
      const result = await readPipelineFile(options.file);
      if (!result.ok) {
        printErrors(result.diagnostics);
        process.exitCode = 1;
        return;
      }
      printErrors(result.diagnostics);
      const rows = result.file.pipelines.map(summarize);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const table = [
        ['PIPELINE', 'SELECTOR', 'STEPS', 'DEPLOYMENTS', 'FINAL'],
        ...rows.map((r) => [
          r.key,
          r.importFrom !== undefined ? `${r.selector} (imported)` : r.selector,
          String(r.steps),
          r.deployments.join(', ') || '-',
          r.final ? 'yes' : 'no',
        ]),
      ];
      const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length))) ?? [];
      table.forEach((row, index) => {
        const line = row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd();
        process.stdout.write(`${index === 0 ? out.bold(line) : line}\n`);
      });
    });
}

import type { Command } from 'commander';
import { RUN_REASONS } from '../../vocabulary/contract';
import { connect } from '../client';
import {
  colourStatus,
  duration,
  orderedSteps,
  runDuration,
  runSummary,
  stepDuration,
  stepLabel,
  stepSymbol,
} from '../format';
import { out } from '../output';

export function register(program: Command): void {
  program
    .command('show')
    .description('Show a run: status, steps, who started or stopped it, and the locks it holds')
    .argument('<run>', 'a run id or build number')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExit codes: 0 shown, 4 unknown run.')
    .action(async (ref: string, options: { json?: boolean }) => {
      const run = await (await connect()).run(ref);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(runSummary(run), null, 2)}\n`);
        return;
      }
      const lines = [
        `${out.bold(`Run #${run.buildNumber}`)} ${colourStatus(run.status)}${run.reason ? ` — ${RUN_REASONS[run.reason]}` : ''}`,
        `  id        ${run.runId}`,
        `  pipeline  ${run.pipeline} of ${run.repository}`,
        `  commit    ${run.trigger.commit}${run.trigger.branch ? ` (${run.trigger.branch})` : ''}`,
        `  started   by ${run.startedBy} at ${new Date(run.createdAt).toISOString()}, took ${duration(runDuration(run))}`,
      ];
      if (run.stop) {
        lines.push(
          `  stopped   by ${run.stop.by} (${run.stop.mode})${run.stop.reason ? `: ${run.stop.reason}` : ''}`,
        );
      }
      const held = Object.keys(run.locks);
      if (held.length) lines.push(`  holds     ${held.join(', ')}`);
      if (run.waiting)
        lines.push(
          `  waiting   for ${run.waiting.kind === 'approval' ? 'an approval' : `the lock ${run.waiting.lock}`}`,
        );
      if (run.notes?.length) {
        lines.push('', '  Notes');
        for (const note of run.notes)
          lines.push(`  ${out.dim(new Date(note.at).toISOString())} ${note.text}`);
      }
      lines.push('', '  Steps');
      for (const step of orderedSteps(run)) {
        const exit = step.exitCode === undefined ? '' : `exit ${step.exitCode}`;
        lines.push(
          `  ${stepSymbol(step.status)} ${stepLabel(step).padEnd(36)} ${colourStatus(step.status, 10)} ${exit.padEnd(8)} ${out.dim(duration(stepDuration(step)))}${step.attempts > 1 ? out.dim(` (${step.attempts} attempts)`) : ''}${step.ignored ? out.dim(' (failure ignored)') : ''}`,
        );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

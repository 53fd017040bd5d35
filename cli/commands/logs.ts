import type { Command } from 'commander';
import { UsageError } from '../../vocabulary/errors';
import { connect } from '../client';
import { followRun, logPages } from '../follow';
import { orderedSteps, stepLabel } from '../format';
import { out, write } from '../output';

export function register(program: Command): void {
  program
    .command('logs')
    .description("Print a run's step logs")
    .argument('<run>', 'a run id or build number')
    .argument('[step]', 'a step number (1-based) or name; default: every step')
    .option('--follow', 'keep printing until the run ends')
    .addHelpText('after', '\nExit codes: 0 printed, 4 unknown run or step.')
    .action(async (ref: string, stepRef: string | undefined, options: { follow?: boolean }) => {
      const client = await connect();
      const run = await client.run(ref);
      const steps = orderedSteps(run);
      let chosen = steps;
      if (stepRef !== undefined) {
        const byNumber = /^\d+$/.test(stepRef) ? steps[Number(stepRef) - 1] : undefined;
        const step = byNumber ?? steps.find((s) => s.name === stepRef || stepLabel(s) === stepRef);
        if (!step) {
          throw new UsageError(
            `run #${run.buildNumber} has no step ${stepRef} (steps: ${steps.map((s, i) => `${i + 1} ${s.name}`).join(', ')})`,
          );
        }
        chosen = [step];
      }
      const many = chosen.length > 1;
      if (options.follow) {
        await followRun(
          client,
          run.runId,
          {
            onLines: (step, lines) => {
              const prefix = many ? `${out.dim(`${stepLabel(step)} |`)} ` : '';
              return write(`${lines.map((line) => `${prefix}${line}`).join('\n')}\n`);
            },
          },
          { steps: chosen.map((s) => s.index) },
        );
        return;
      }
      for (const step of chosen) {
        if (step.startedAt === undefined && step.status !== 'RUNNING') continue;
        if (many) process.stdout.write(`${out.bold(`== ${stepLabel(step)} (${step.status})`)}\n`);
        // Page by page, each written before the next is asked for: a 200 MB log never sits in memory.
        let ending = '\n';
        for await (const chunk of logPages(client, run.runId, step.index, 0)) {
          if (!chunk.text) continue;
          await write(chunk.text);
          ending = chunk.text.at(-1)!;
        }
        if (ending !== '\n') process.stdout.write('\n');
      }
    });
}

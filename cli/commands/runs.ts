import type { Command } from 'commander';
import { connect } from '../client';
import { colourStatus, duration, runDuration, runSummary } from '../format';
import { out } from '../output';

export function register(program: Command): void {
  program
    .command('runs')
    .description('List the runs of this repository, newest first')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print JSON')
    .action(async (options: { limit: string; json?: boolean }) => {
      const client = await connect();
      const page = await client.runs(Number(options.limit));
      if (options.json) {
        process.stdout.write(`${JSON.stringify(page.items.map(runSummary), null, 2)}\n`);
        return;
      }
      if (page.items.length === 0) {
        process.stdout.write('No runs yet: start one with `finale run`.\n');
        return;
      }
      for (const run of page.items) {
        const when = new Date(run.createdAt).toISOString().replace('T', ' ').slice(0, 19);
        process.stdout.write(
          `${out.bold(`#${String(run.buildNumber).padEnd(5)}`)} ${colourStatus(run.status, 12)} ${run.pipeline.padEnd(24)} ${when}  ${duration(runDuration(run)).padStart(7)}  ${out.dim(run.startedBy)}\n`,
        );
      }
    });
}

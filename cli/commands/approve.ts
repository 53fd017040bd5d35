import type { Command } from 'commander';
import { connect } from '../client';

export function register(program: Command): void {
  program
    .command('approve')
    .description('Approve the manual step a run is paused at (or refuse it: the run goes to its final step)')
    .argument('<run>', 'a run id or build number')
    .option('--refuse', 'refuse instead of approving')
    .option('--reason <text>', 'why (recorded in the audit trail)')
    .addHelpText('after', '\nExit codes: 0 done, 4 unknown run or not paused at a manual step.')
    .action(async (ref: string, options: { refuse?: boolean; reason?: string }) => {
      const client = await connect();
      const result = await client.approve(ref, options.refuse ? 'refuse' : 'approve', options.reason);
      const step = result.run.steps[String(result.step)];
      process.stdout.write(
        `${options.refuse ? 'Refused' : 'Approved'} ${step?.name ?? `step ${result.step}`} of run #${result.run.buildNumber}.\n`,
      );
    });
}

import { type Command, Option } from 'commander';
import type { StopMode } from '../../vocabulary/contract';
import { connect } from '../client';

export function register(program: Command): void {
  program
    .command('stop')
    .description('Stop a run; its after-script and final step still run')
    .argument('<run>', 'a run id or build number')
    .addOption(
      new Option(
        '--mode <mode>',
        'graceful: one signal, the grace period, then kill; drain: let the running step finish, start nothing new; immediate: kill now',
      )
        .choices(['graceful', 'drain', 'immediate'])
        .default('graceful'),
    )
    .option('--reason <text>', 'why (recorded in the run and the audit trail)')
    .addHelpText(
      'after',
      '\nExit codes: 0 accepted, 3 refused by the stop policy, 4 unknown or finished run.',
    )
    .action(async (ref: string, options: { mode: StopMode; reason?: string }) => {
      const client = await connect();
      const result = await client.stop(ref, options.mode, options.reason);
      const tasks = result.stoppedTasks.length;
      process.stdout.write(
        `Run #${result.run.buildNumber} is ${result.status} (${result.mode} stop${tasks ? `, ${tasks} running step${tasks === 1 ? '' : 's'} told` : ''}); its final step will run.\n`,
      );
    });
}

import type { Command } from 'commander';
import { connect } from '../client';
import { duration } from '../format';
import { out } from '../output';

export function register(program: Command): void {
  program
    .command('locks')
    .description('List the deployment and concurrency locks: holder, lease, and the runs queued for them')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const locks = await (await connect()).locks();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(locks, null, 2)}\n`);
        return;
      }
      if (locks.length === 0) {
        process.stdout.write('No locks yet.\n');
        return;
      }
      const now = Date.now();
      for (const lock of locks) {
        const holder = lock.holder
          ? `held by run ${lock.holder.runId} (fence ${lock.holder.fence}) for ${duration(now - lock.holder.since)}${lock.holder.expired ? out.red(' — lease expired') : `, lease ${duration(lock.holder.leaseUntil - now)} left`}`
          : out.dim('free');
        process.stdout.write(`${out.bold(lock.key)}  ${holder}\n`);
        lock.waiters.forEach((waiter, i) => {
          process.stdout.write(`  ${i + 1}. run ${waiter.runId} waiting ${duration(now - waiter.since)}\n`);
        });
      }
    });

  program
    .command('unlock')
    .description('Force a lock free (admins only; audited); the next queued run gets it')
    .argument('<key>', 'the lock key, e.g. deployment:production')
    .option('--reason <text>', 'why (recorded in the audit trail)')
    .addHelpText('after', '\nExit codes: 0 unlocked, 3 not an admin, 4 no such lock or not held.')
    .action(async (key: string, options: { reason?: string }) => {
      const unlocked = await (await connect()).unlock(key, options.reason);
      const holder = `run ${unlocked.holder.runId} (fence ${unlocked.holder.fence})`;
      process.stdout.write(
        `Unlocked ${key}, taken from ${holder}: ${unlocked.told ? 'its step was told in its log' : 'its step had ended'}; its record notes it.${unlocked.handedTo ? ` Run ${unlocked.handedTo.runId} holds it now (fence ${unlocked.handedTo.fence}).` : ''}\n`,
      );
    });
}

import type { Command } from 'commander';
import { SETTING_KEYS } from '../../core/settings';
import { UsageError } from '../../vocabulary/errors';
import { connect } from '../client';

export function register(program: Command): void {
  program
    .command('settings')
    .description(
      'Show or change the repository settings (changes are admin-only once admins exist, and audited)',
    )
    .argument('[key]', `one of: ${SETTING_KEYS.join(', ')}`)
    .argument('[value]', 'the new value (admins: a comma-separated list)')
    .addHelpText(
      'after',
      `
Settings and defaults:
  graceful-stop   on|off            on    off: a stop kills at once, as Bitbucket does
  stop-timeout    seconds           30    grace between the stop signal and SIGKILL
  stop-signal     TERM|INT          TERM  INT for Terraform, whose first SIGINT shuts down cleanly
  stop-policy     anyone|admins|nobody  anyone  who may stop a run
  admins          user,user,…       (none) who may change settings, force-unlock, stop under "admins"

Exit codes: 0 shown or changed, 2 unknown key or invalid value, 3 not an admin.`,
    )
    .action(async (key: string | undefined, value: string | undefined) => {
      const client = await connect();
      if (key !== undefined && !(SETTING_KEYS as readonly string[]).includes(key)) {
        throw new UsageError(`unknown setting ${key}; the settings are ${SETTING_KEYS.join(', ')}`);
      }
      const settings = value === undefined ? await client.settings() : await client.setSetting(key!, value);
      const keys = key === undefined ? Object.keys(settings) : [key];
      for (const name of keys) process.stdout.write(`${name.padEnd(14)} ${settings[name] ?? ''}\n`);
    });
}

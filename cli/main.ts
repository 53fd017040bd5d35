import { Command, CommanderError } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import { FinaleError } from '../vocabulary/errors';
import { commands } from './commands/index';
import { err } from './output';

// Exit codes: 0 ok, 1 invalid or failed, 2 usage or unreadable input. Commands may use more
// (run: 130 stopped; stop: 3 refused, 4 unknown run), documented in their --help.
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('finale')
    .description('Run Bitbucket Pipelines YAML as AWS Step Functions state machines, or on this machine.')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    // A command's options belong to it: `variables set X --deployment E` is not `variables --deployment E`.
    .enablePositionalOptions()
    .configureOutput({ outputError: (text, write) => write(err.red(text)) });
  for (const register of commands) register(program);
  for (const command of program.commands) command.exitOverride();

  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through exitOverride with exit code 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof FinaleError) {
      process.stderr.write(`${err.red('finale:')} ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

// `finale runs | head -1` closes our stdout early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const code = await main(process.argv.slice(2));
process.exitCode = code;

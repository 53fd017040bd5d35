import type { Command } from 'commander';
import { FinaleError, UsageError } from '../../core/errors';
import { finalePaths, repositoryRoot } from '../../local/paths';

export function register(program: Command): void {
  program
    .command('serve')
    .description('Run the local server in the foreground: it owns the store and the runs of this repository')
    .option('--port <port>', 'the port on 127.0.0.1 (default: any free port)')
    .addHelpText(
      'after',
      `
Other commands start this server in the background when none is running, and find it through
.finale/server.json. Runs survive it: a run whose server went away is adopted by the next one, which
stops what is left of its step, marks it ERROR, runs its final step and releases its locks.`,
    )
    .action(async (options: { port?: string }) => {
      const port = options.port === undefined ? 0 : Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new UsageError(`--port: not a port: ${options.port}`);
      const paths = finalePaths(repositoryRoot(process.cwd()));
      const { startServer } = await import('../../local/server');
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        server = await startServer(paths, { port });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
          throw new UsageError(`port ${port} is in use`);
        throw new FinaleError(`the local server could not start: ${(error as Error).message}`, {
          cause: error,
        });
      }
      process.stdout.write(
        `Finale local server for ${server.host.repository} on 127.0.0.1:${server.info.port} (pid ${process.pid}); state in ${paths.home}\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
      process.stdout.write('Finale local server stopped.\n');
      process.exit(0);
    });
}

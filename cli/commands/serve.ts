import type { Command } from 'commander';
import { finalePaths, repositoryRoot } from '../../local/paths';
import { FinaleError, UsageError } from '../../vocabulary/errors';
import { readServerInfo } from '../local';

/** One server per repository: the second is told where the first is. */
function alreadyRunning(pid: number | undefined, port: number | undefined): UsageError {
  const where = pid === undefined ? 'it is starting' : `pid ${pid}${port ? `, 127.0.0.1:${port}` : ''}`;
  return new UsageError(
    `a local server for this repository is already running (${where}); every command uses it, and \`kill ${pid ?? '<pid>'}\` stops it`,
  );
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('Run the local server in the foreground: it owns the store and the runs of this repository')
    .option('--port <port>', 'the port on 127.0.0.1 (default: any free port)')
    .option(
      '--idle-timeout <seconds>',
      'stop after this long without requests or runs (0: never; default FINALE_SERVER_IDLE_SECONDS, else 1800)',
    )
    .addHelpText(
      'after',
      `
Other commands start this server in the background when none is running, and find it through
.finale/server.json; it stops by itself after --idle-timeout seconds without requests or runs. One
server per repository: a second one refuses to start. Runs survive it: stopping it hands its runs
over, and a server that died leaves them behind; the next server adopts them — it stops their
running steps gracefully (after-scripts run), waits for a running final step, runs a final step that
had not run or was killed, releases their locks and records them as ERROR.`,
    )
    .action(async (options: { port?: string; idleTimeout?: string }) => {
      const port = options.port === undefined ? 0 : Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new UsageError(`--port: not a port: ${options.port}`);
      const idleSetting = options.idleTimeout ?? process.env.FINALE_SERVER_IDLE_SECONDS;
      const idleSeconds = idleSetting === undefined ? undefined : Number(idleSetting);
      if (idleSeconds !== undefined && !(Number.isFinite(idleSeconds) && idleSeconds >= 0)) {
        throw new UsageError(
          `${options.idleTimeout === undefined ? 'FINALE_SERVER_IDLE_SECONDS' : '--idle-timeout'}: not a number of seconds: ${idleSetting}`,
        );
      }
      const paths = finalePaths(repositoryRoot(process.cwd()));
      // A server.json that is not a server's is overwritten by this one: no server wrote it.
      const running = await readServerInfo(paths).catch(() => undefined);
      if (running) throw alreadyRunning(running.pid, running.port);
      const { startServer, IDLE_SECONDS } = await import('../../local/server');
      const { DatabaseLockedError } = await import('../../local/database-lock');
      let server: Awaited<ReturnType<typeof startServer>>;
      let stopping: (why: string) => void = () => undefined;
      const stopped = new Promise<string>((resolve) => {
        stopping = resolve;
      });
      try {
        server = await startServer(paths, {
          port,
          ...(idleSeconds !== undefined ? { idleSeconds } : {}),
          onIdle: () => stopping(`idle for ${idleSeconds ?? IDLE_SECONDS}s`),
        });
      } catch (error) {
        if (error instanceof DatabaseLockedError) {
          const info = await readServerInfo(paths).catch(() => undefined);
          throw alreadyRunning(info?.pid, info?.port);
        }
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
          throw new UsageError(`port ${port} is in use`);
        throw new FinaleError(`the local server could not start: ${(error as Error).message}`, {
          cause: error,
        });
      }
      process.stdout.write(
        `Finale local server for ${server.host.repository} on 127.0.0.1:${server.info.port} (pid ${process.pid}); state in ${paths.home}\n`,
      );
      process.once('SIGINT', () => stopping('interrupted'));
      process.once('SIGTERM', () => stopping('terminated'));
      const why = await stopped;
      const handed = server.host.active();
      await server.close();
      process.stdout.write(
        `Finale local server stopped (${why})${handed ? `; ${handed} run(s) in flight go on with the next server, which any finale command starts` : ''}.\n`,
      );
      process.exit(0);
    });
}

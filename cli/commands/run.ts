import { relative, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { RunRecord, StepRecord } from '../../store/records';
import { RUN_REASONS } from '../../vocabulary/contract';
import { UsageError } from '../../vocabulary/errors';
import { ApiClient } from '../client';
import { followRun } from '../follow';
import {
  colourStatus,
  duration,
  exitCodeOf,
  orderedSteps,
  runDuration,
  runSummary,
  stepDuration,
  stepLabel,
  stepSymbol,
} from '../format';
import { localTransport } from '../local';
import { err, out, write as writeOut } from '../output';
import { plural } from './diagnostics';

interface RunOptions {
  file: string;
  var: string[];
  json?: boolean;
}

function parseVariables(pairs: readonly string[]): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--var takes NAME=VALUE, not ${JSON.stringify(pair)}`);
    variables[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return variables;
}

/** How progress is shown: a live step list on a TTY, plain lines otherwise, nothing with --json. */
interface Renderer {
  step(step: StepRecord, previous: StepRecord | undefined): void;
  lines(step: StepRecord, lines: readonly string[]): void | Promise<void>;
  tick(run: RunRecord): void;
  note(text: string): void;
  done(run: RunRecord): void;
}

function stepEvent(step: StepRecord): string | undefined {
  const label = out.bold(stepLabel(step));
  const took = duration(stepDuration(step));
  switch (step.status) {
    case 'RUNNING':
      return `${stepSymbol(step.status)} ${label} started`;
    case 'WAITING':
      return `${stepSymbol(step.status)} ${label} is waiting (for an approval or a lock)`;
    case 'SUCCESSFUL':
      return `${stepSymbol(step.status)} ${label} succeeded (${took})`;
    case 'FAILED':
      return `${stepSymbol(step.status)} ${label} failed with exit code ${step.exitCode ?? '?'}${step.ignored ? ' (ignored: on-fail)' : ''} (${took})`;
    case 'STOPPED':
      return `${stepSymbol(step.status)} ${label} was stopped (${took})`;
    case 'TIMED_OUT':
      return `${stepSymbol(step.status)} ${label} exceeded its max-time (${took})`;
    case 'ERROR':
      return `${stepSymbol(step.status)} ${label} could not complete`;
    case 'NOT_RUN':
      return `${stepSymbol(step.status)} ${label} did not run`;
    default:
      return undefined;
  }
}

function finishedLine(run: RunRecord): string {
  const reason = run.reason ? `: ${RUN_REASONS[run.reason]}` : '';
  return `Run #${run.buildNumber} ${colourStatus(run.status)}${reason} (${duration(runDuration(run))})`;
}

function plainRenderer(): Renderer {
  const write = (text: string) => process.stdout.write(`${text}\n`);
  return {
    step(step) {
      const event = stepEvent(step);
      if (event) write(event);
    },
    lines(step, lines) {
      const prefix = out.dim(`${stepLabel(step)} |`);
      return writeOut(`${lines.map((line) => `${prefix} ${line}`).join('\n')}\n`);
    },
    tick() {},
    note: (text) => process.stderr.write(`${text}\n`),
    done: (run) => write(finishedLine(run)),
  };
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

async function liveRenderer(): Promise<Renderer> {
  const { createLogUpdate } = await import('log-update');
  const live = createLogUpdate(process.stdout);
  let frame = 0;
  let last: RunRecord | undefined;
  // One redraw per page of log lines, not per line: a step that prints millions of lines is shown
  // at the pace the terminal takes them.
  const above = async (text: string) => {
    live.clear();
    await writeOut(`${text}\n`);
    if (last) draw(last);
  };
  const draw = (run: RunRecord) => {
    last = run;
    const rows = orderedSteps(run).map((step) => {
      const symbol =
        step.status === 'RUNNING' ? out.cyan(SPINNER[frame % SPINNER.length]!) : stepSymbol(step.status);
      const took = duration(stepDuration(step));
      return `  ${symbol} ${stepLabel(step).padEnd(32)} ${colourStatus(step.status, 12)} ${out.dim(took)}`;
    });
    live(
      [
        `${out.bold(`Run #${run.buildNumber}`)} ${colourStatus(run.status)} ${out.dim(duration(runDuration(run)))}`,
        ...rows,
      ].join('\n'),
    );
  };
  return {
    step() {},
    lines(step, lines) {
      const prefix = out.dim(`${stepLabel(step)} |`);
      return above(lines.map((line) => `${prefix} ${line}`).join('\n'));
    },
    tick(run) {
      frame++;
      draw(run);
    },
    note: (text) => void above(text),
    done(run) {
      draw(run);
      live.done();
      process.stdout.write(`${finishedLine(run)}\n`);
    },
  };
}

function silentRenderer(): Renderer {
  return { step() {}, lines() {}, tick() {}, note: (text) => process.stderr.write(`${text}\n`), done() {} };
}

/** `finale run` exits with this when Ctrl+C detached it from a run that goes on. */
const DETACHED_EXIT_CODE = 5;

/**
 * Ctrl+C is a stop request: graceful (per the settings) first, immediate on the second. Once a stop
 * has been refused, the next Ctrl+C detaches instead: the client goes, the run goes on. It listens
 * from before the run is started: a Ctrl+C that comes while the run starts is kept, and sent once the
 * run is known, rather than killing the client and leaving the run unstopped.
 */
function stopOnInterrupt(client: ApiClient, detach: () => void) {
  let target: { readonly run: RunRecord; readonly renderer: Renderer } | undefined;
  let early = 0;
  let stops = 0;
  let refused = false;
  const press = () => {
    if (!target) {
      early++;
      return;
    }
    const { run, renderer } = target;
    if (refused) {
      renderer.note(
        err.yellow(
          `Detached from run #${run.buildNumber}; it goes on. Watch it with \`finale logs ${run.buildNumber} --follow\`, see how it ended with \`finale show ${run.buildNumber}\`.`,
        ),
      );
      detach();
      return;
    }
    stops++;
    if (stops > 2) return;
    const mode = stops === 1 ? 'graceful' : 'immediate';
    renderer.note(
      err.yellow(
        stops === 1
          ? 'Stopping the run gracefully (Ctrl+C again to stop it immediately)…'
          : 'Stopping the run immediately…',
      ),
    );
    client.stop(run.runId, mode, stops === 1 ? 'Ctrl+C in finale run' : 'second Ctrl+C in finale run').then(
      (result) => renderer.note(err.yellow(`Stop accepted: ${result.mode}; the final step will still run.`)),
      (error: Error) => {
        refused = true;
        renderer.note(err.red(`Stop refused: ${error.message} (Ctrl+C again to detach; the run goes on)`));
      },
    );
  };
  process.on('SIGINT', press);
  return {
    /** The run has started: presses from now on (and those already made) are about it. */
    attach(run: RunRecord, renderer: Renderer) {
      target = { run, renderer };
      for (; early > 0; early--) press();
    },
    close: () => process.off('SIGINT', press),
  };
}

export function register(program: Command): void {
  program
    .command('run')
    .description('Run a pipeline on this machine with the embedded engine, and follow it')
    .argument(
      '[pipeline]',
      'a pipeline key: default, branches:main, custom:deploy, …; default: what a push of the current branch runs',
    )
    .option('-f, --file <path>', 'the pipeline file', 'bitbucket-pipelines.yml')
    .addOption(
      new Option('--var <name=value>', 'a custom pipeline variable (repeatable)')
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([]),
    )
    .option('--json', 'print one JSON summary at the end instead of progress')
    .addHelpText(
      'after',
      `
The run builds the working tree as it stands, uncommitted changes included. Ctrl+C asks for a stop
(graceful, per \`finale settings\`); a second Ctrl+C asks for an immediate stop. The final step runs either way.

The client follows the run to its end even if the local server goes away meanwhile: it finds (or
starts) the next server, which adopts the run. Once a stop has been refused, Ctrl+C detaches: the
run goes on without the client.

Exit codes: 0 successful, 1 failed or ended in error, 2 invalid pipeline or usage, 5 detached (the run
goes on), 130 stopped.`,
    )
    .action(async (pipeline: string | undefined, options: RunOptions) => {
      const variables = parseVariables(options.var);
      const transport = await localTransport();
      const client = new ApiClient(transport);
      const file = relative(transport.paths.root, resolve(options.file));
      // Steps run as if from this shell: they get its environment (and Bitbucket's variables).
      const environment = Object.fromEntries(
        Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
      );
      const detached = new AbortController();
      const interrupts = stopOnInterrupt(client, () => detached.abort());
      let started: Awaited<ReturnType<typeof client.startRun>>;
      try {
        started = await client.startRun({
          file,
          variables,
          environment,
          ...(pipeline ? { pipeline } : {}),
        });
      } catch (error) {
        interrupts.close();
        throw error;
      }
      const { run } = started;
      const renderer = options.json
        ? silentRenderer()
        : process.stdout.isTTY && (process.stdout.rows ?? 0) > 0
          ? await liveRenderer()
          : plainRenderer();
      if (!options.json) {
        process.stdout.write(
          `${out.bold(`Run #${run.buildNumber}`)} of ${run.pipeline} (${started.steps.length} ${started.steps.length === 1 ? 'step' : 'steps'}): ${started.reason}\n`,
        );
        for (const notice of started.notices) process.stderr.write(err.yellow(`finale: ${notice}\n`));
        if (started.warnings.length) {
          process.stderr.write(
            err.yellow(
              `(${plural(started.warnings.length, 'warning')}: \`finale validate ${file}\` shows them)\n`,
            ),
          );
        }
      }
      interrupts.attach(run, renderer);
      try {
        const ended = await followRun(
          client,
          run.runId,
          {
            onStep: (step, previous) => renderer.step(step, previous),
            onLines: (step, lines) => renderer.lines(step, lines),
            onTick: (current) => renderer.tick(current),
          },
          { signal: detached.signal },
        );
        if (detached.signal.aborted) {
          process.exitCode = DETACHED_EXIT_CODE;
          return;
        }
        renderer.done(ended);
        if (options.json) process.stdout.write(`${JSON.stringify(runSummary(ended), null, 2)}\n`);
        process.exitCode = exitCodeOf(ended.status);
      } finally {
        interrupts.close();
      }
    });
}

import type { Command } from 'commander';
import { register as approve } from './approve';
import { register as explain } from './explain';
import { register as graph } from './graph';
import { register as locks } from './locks';
import { register as logs } from './logs';
import { register as pipelines } from './pipelines';
import { register as run } from './run';
import { register as runs } from './runs';
import { register as serve } from './serve';
import { register as settings } from './settings';
import { register as show } from './show';
import { register as stop } from './stop';
import { register as synth } from './synth';
import { register as validate } from './validate';
import { register as variables } from './variables';
import { register as verify } from './verify';

/** Each command module exports one `register` function; the order here is the order in --help. */
export const commands: readonly ((program: Command) => void)[] = [
  run,
  stop,
  approve,
  runs,
  show,
  logs,
  locks,
  settings,
  variables,
  serve,
  validate,
  pipelines,
  explain,
  synth,
  graph,
  verify,
];

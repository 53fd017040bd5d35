import type { Command } from 'commander';
import { register as explain } from './explain';
import { register as graph } from './graph';
import { register as pipelines } from './pipelines';
import { register as synth } from './synth';
import { register as validate } from './validate';

/** Each command module exports one `register` function; the order here is the order in --help. */
export const commands: readonly ((program: Command) => void)[] = [validate, pipelines, explain, synth, graph];

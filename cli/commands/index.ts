import type { Command } from 'commander';

/** Each command module exports one `register` function; the order here is the order in --help. */
export const commands: readonly ((program: Command) => void)[] = [];

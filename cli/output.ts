import { createColors } from 'picocolors';

/** Colour only on a TTY, and never when NO_COLOR is set (https://no-color.org). */
export function colorsFor(stream: NodeJS.WriteStream) {
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  return createColors(Boolean(stream.isTTY) && !noColor);
}

export const out = colorsFor(process.stdout);
export const err = colorsFor(process.stderr);

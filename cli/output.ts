import { createColors } from 'picocolors';

/** Colour only on a TTY, and never when NO_COLOR is set (https://no-color.org). */
function colorsFor(stream: NodeJS.WriteStream) {
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  return createColors(Boolean(stream.isTTY) && !noColor);
}

export const out = colorsFor(process.stdout);
export const err = colorsFor(process.stderr);

/** Writes to stdout and waits until the terminal or pipe has taken it: memory holds one page at most. */
export function write(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

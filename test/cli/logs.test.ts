// A step that prints 200 MB, followed as users follow it: `finale run` printing every line, and
// `finale logs --follow` beside it. Each client reads a page at a time, so its memory stays bounded
// whatever the log's size, and no multibyte character is ever cut in two on the way.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sandbox, until } from '../local/harness';
import { BIN, stopServer } from './support';

const MB = 1024 * 1024;
/** A line of 100 bytes with characters of one to four bytes, so pages end inside them. */
const LINE = `plain ascii, αβγδ, €, 😀 — ${'x'.repeat(100 - Buffer.byteLength('plain ascii, αβγδ, €, 😀 — ') - 1)}`;
const COMMAND = `yes '${LINE}' | head -c ${200 * MB}`;
/** The line the supervisor prints before running the command (Bitbucket's `+ command`). */
const ECHO = `+ ${COMMAND}`;

interface Followed {
  readonly code: number | null;
  readonly bytes: number;
  /** Lines that are not `prefix + LINE` (besides the run's own progress lines, which have no prefix). */
  readonly odd: string[];
  readonly lines: number;
  readonly stderr: string;
}

/**
 * Runs the CLI and checks its output as it streams, line by line, holding one line at a time: the
 * test must not itself hold the 200 MB it checks.
 */
function follow(args: readonly string[], cwd: string, prefix: string) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', FINALE_USER: 'alice@example.com' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let bytes = 0;
  let lines = 0;
  let rest = '';
  let stderr = '';
  const odd: string[] = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  child.stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    const text = rest + decoder.decode(chunk, { stream: true });
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      if (line === `${prefix}${LINE}`) lines++;
      // The script's own echo of its command comes first.
      else if (line !== `${prefix}${ECHO}` && line.startsWith(prefix) && odd.length < 5) odd.push(line);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  const result = new Promise<Followed>((resolve) =>
    child.on('close', (code) => resolve({ code, bytes, odd, lines, stderr })),
  );
  return { child, result, lines: () => lines };
}

/** Peak resident memory of a process so far, in bytes (VmHWM). */
function peakRss(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

describe('a 200 MB log', () => {
  it('is followed by `finale run` and `finale logs --follow` under 200 MB of memory each, every byte intact', async () => {
    expect(Buffer.byteLength(LINE)).toBe(99);
    const box = sandbox(`pipelines:
  default:
    - step:
        name: Loud
        script:
          - ${COMMAND}
`);
    try {
      const run = follow(['run'], box.root, 'Loud | ');
      await until('the first lines of the log', async () => run.lines() > 0, 30_000);
      const logs = follow(['logs', '1', '1', '--follow'], box.root, '');
      let runPeak = 0;
      let logsPeak = 0;
      const sampler = setInterval(() => {
        runPeak = Math.max(runPeak, peakRss(run.child.pid!));
        logsPeak = Math.max(logsPeak, peakRss(logs.child.pid!));
      }, 50);
      const [followed, printed] = await Promise.all([logs.result, run.result]);
      clearInterval(sampler);
      expect(followed.code, followed.stderr).toBe(0);
      expect(printed.code, printed.stderr).toBe(0);
      // `logs` prints the log as it is: 200 MB exactly, every line whole (a cut character would not
      // even decode: the checker's decoder is fatal).
      expect(followed.bytes).toBe(Buffer.byteLength(`${ECHO}\n`) + 200 * MB);
      expect(followed.odd).toEqual([]);
      expect(followed.lines).toBe((200 * MB) / 100);
      expect(printed.odd).toEqual([]);
      expect(printed.lines).toBe((200 * MB) / 100);
      expect(runPeak).toBeGreaterThan(0);
      expect(runPeak).toBeLessThan(200 * MB);
      expect(logsPeak).toBeLessThan(200 * MB);
    } finally {
      await stopServer(box.root);
    }
  }, 300_000);
});

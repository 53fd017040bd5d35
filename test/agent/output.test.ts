// The agent's masking of the step's output, with real processes writing the file as a step does: a
// secret cut across two writes, a tail held back until the end, a script that truncates its output,
// and a 200 MB log followed in bounded memory.

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followOutput, takeMaskedVariables } from '../../agent/output';

const SECRET = 's3cret-value-7f3a';
const secured = Promise.resolve([{ name: 'TOKEN', value: SECRET }]);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'finale-output-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A sink that keeps what it was given, chunk by chunk, with when. */
function collector() {
  const chunks: { at: number; text: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push({ at: Date.now(), text: chunk.toString('utf8') });
      callback();
    },
  });
  return { sink, chunks, text: () => chunks.map((chunk) => chunk.text).join('') };
}

/** A writer process appending to `path`, as the step's processes do through start.sh's `>>`. */
function writer(path: string, script: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `exec >>"$1" 2>&1\n${script}`, 'sh', path], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

/** A follower of a fresh output file with the test's secret, collecting what it writes and logs. */
async function following(name: string, pollMs = 10) {
  const path = join(dir, name);
  await writeFile(path, '');
  const out = collector();
  const lines: string[] = [];
  const follower = followOutput({ path, secured, sink: out.sink, log: (line) => lines.push(line), pollMs });
  return { path, out, lines, follower };
}

describe("the agent's masking of the step's output", () => {
  it('masks a secret cut across two writes; what comes before it is shown at once', async () => {
    const { path, out, lines, follower } = await following('split');
    const started = Date.now();
    const code = await writer(
      path,
      `printf 'before %s' "${SECRET.slice(0, 7)}"; sleep 0.4; printf '%s after\\n' "${SECRET.slice(7)}"; echo "again ${SECRET}"`,
    );
    expect(code).toBe(0);
    await follower.finish();
    expect(out.text()).toBe('before $TOKEN after\nagain $TOKEN\n');
    expect(out.text()).not.toContain(SECRET);
    // The start of the value waited; the text before it did not.
    const first = out.chunks[0]!;
    expect(first.text).toBe('before ');
    expect(first.at - started).toBeLessThan(400);
    expect(out.chunks.some((chunk) => chunk.text.includes(SECRET.slice(0, 7)))).toBe(false);
    expect(lines).toEqual([]);
  });

  it('reads to the very end once finished, the held-back tail included', async () => {
    const { path, out, follower } = await following('tail', 5_000);
    // Written while the follower sleeps; the tail could begin the secret, and is shown in the end.
    await writer(path, `printf 'last line\\n%s' "${SECRET.slice(0, 5)}"`);
    await follower.finish();
    expect(out.text()).toBe(`last line\n${SECRET.slice(0, 5)}`);
  });

  it('starts over when a script truncates its output (`> /dev/stdout`), and says so', async () => {
    const { path, out, lines, follower } = await following('truncated');
    await writer(
      path,
      `echo "one ${SECRET}"; sleep 0.3; echo two > /dev/stdout; sleep 0.3; echo "three ${SECRET}"`,
    );
    await follower.finish();
    expect(out.text()).toBe('one $TOKEN\ntwo\nthree $TOKEN\n');
    expect(lines).toEqual([expect.stringMatching(/the step truncated its output/)]);
  });

  it('waits for the values to mask before showing anything, and fails when they cannot be had', async () => {
    const path = join(dir, 'no-values');
    await writeFile(path, `plain ${SECRET}\n`);
    const out = collector();
    const follower = followOutput({
      path,
      secured: Promise.reject(new Error('KMS is unreachable')),
      sink: out.sink,
      log: () => undefined,
    });
    await expect(follower.failed).rejects.toThrow('KMS is unreachable');
    await expect(follower.finish()).rejects.toThrow('KMS is unreachable');
    expect(out.text()).toBe('');
  });

  it('follows a 200 MB log in bounded memory, masking in the middle and at the end', async () => {
    const path = join(dir, 'large');
    await writeFile(path, '');
    const megabytes = 200;
    let bytes = 0;
    let masks = 0;
    let leaked = false;
    let tail = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        const text = tail + chunk.toString('latin1');
        leaked ||= text.includes(SECRET);
        masks += (text.match(/\$TOKEN/g) ?? []).length - (tail.match(/\$TOKEN/g) ?? []).length;
        tail = text.slice(-(SECRET.length - 1));
        callback();
      },
    });
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const follower = followOutput({ path, secured, sink, log: () => undefined, pollMs: 10 });
    const half = (megabytes / 2) * 1_000_000;
    const code = await writer(
      path,
      `yes 'a line of step output, nothing to hide here' | head -c ${half}
printf '%s\\n' "${SECRET}"
yes 'more output of the step, still nothing to hide' | head -c ${half}
printf '%s' "${SECRET}"`,
    );
    expect(code).toBe(0);
    await follower.finish();
    clearInterval(sampler);
    expect(leaked).toBe(false);
    expect(masks).toBe(2);
    expect(bytes).toBe(2 * half + 2 * '$TOKEN'.length + 1);
    // One 64 KiB buffer and the masker's short tail: nowhere near the size of the log.
    expect(peak - baseline).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);
});

describe('the values the agent masks', () => {
  it('are the FINALE_MASK_ variables, taken out of the environment', () => {
    const env: NodeJS.ProcessEnv = {
      FINALE_MASK_NPM_TOKEN: 'npm-1234',
      FINALE_MASK_EMPTY: '',
      FINALE_TABLE_RUNS: 'runs',
      PATH: '/bin',
    };
    expect(takeMaskedVariables(env)).toEqual([{ name: 'NPM_TOKEN', value: 'npm-1234' }]);
    expect(env).toEqual({ FINALE_TABLE_RUNS: 'runs', PATH: '/bin' });
  });
});

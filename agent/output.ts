// The step's log on its way to CloudWatch. start.sh sends everything the step prints to a file on the
// task's volume (agent/env-file.ts); the agent follows that file, masks each secured value the step
// received as `$NAME` (supervisor/masking.ts), and writes the result to its own stdout, the awslogs
// stream the API reads (aws/logs.ts). The step writes to a file, never to the agent, so a slow log or a
// dead agent never holds it up; the agent holds one chunk and the masker's short tail, whatever
// the size of the log.

import { type FileHandle, open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { MASK_ENV_PREFIX } from '../aws/task-definitions';
import { Masker, type SecuredValue } from '../supervisor/masking';

/**
 * The secured variables ECS gave the agent to mask (FINALE_MASK_<NAME>), taken out of the
 * environment so that nothing the agent starts (git, tar) inherits them.
 */
export function takeMaskedVariables(env: NodeJS.ProcessEnv = process.env): SecuredValue[] {
  const taken: SecuredValue[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(MASK_ENV_PREFIX)) continue;
    delete env[key];
    if (value) taken.push({ name: key.slice(MASK_ENV_PREFIX.length), value });
  }
  return taken;
}

export interface OutputFollower {
  /**
   * The output is complete (the supervisor wrote its status, or the step container stopped): reads
   * on to the end of the file, writes what the masker held back, and resolves once all is written.
   */
  finish(): Promise<void>;
  /** Rejects when following fails (no values to mask, a read or a write failed); never resolves. */
  readonly failed: Promise<never>;
}

interface FollowOptions {
  readonly path: string;
  /** The values to mask: nothing is read before they are known. */
  readonly secured: Promise<readonly SecuredValue[]>;
  readonly sink: Writable;
  readonly log: (line: string) => void;
  /** @default 200 */
  readonly pollMs?: number;
  /** @default 64 KiB */
  readonly chunkBytes?: number;
}

/** Resolves once the sink has taken the chunk: the buffer it came from may then be reused. */
function written(sink: Writable, chunk: Buffer): Promise<void> {
  if (chunk.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    sink.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
}

async function openIfThere(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (error) {
    // The step has not started (prepare creates the file), or never will (prepare failed).
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function followOutput(options: FollowOptions): OutputFollower {
  const pollMs = options.pollMs ?? 200;
  let finishing = false;
  let wake: () => void = () => undefined;
  const pause = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pollMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const following = (async () => {
    const masker = new Masker(await options.secured);
    const buffer = Buffer.alloc(options.chunkBytes ?? 64 * 1024);
    let file: FileHandle | undefined;
    let position = 0;
    try {
      for (;;) {
        // Taken before reading: a read begun after finish() that finds nothing has found the end.
        const last = finishing;
        file ??= await openIfThere(options.path);
        const { bytesRead } = file ? await file.read(buffer, 0, buffer.length, position) : { bytesRead: 0 };
        if (bytesRead > 0) {
          position += bytesRead;
          await written(options.sink, masker.write(buffer.subarray(0, bytesRead)));
          continue;
        }
        // `> /dev/stdout` in a script reopens the file with O_TRUNC: what follows starts at 0.
        if (file && (await file.stat()).size < position) {
          options.log(
            'finale: the step truncated its output (a redirection to /dev/stdout?); some of it is lost',
          );
          position = 0;
          continue;
        }
        if (last) break;
        await pause();
      }
      await written(options.sink, masker.end());
    } finally {
      await file?.close();
    }
  })();

  const failed = following.then(() => new Promise<never>(() => undefined));
  // Whoever awaits `failed` or finish() hears the error; a follower that is only finished is not
  // an unhandled rejection on the side.
  failed.catch(() => undefined);
  return {
    finish() {
      finishing = true;
      wake();
      return following;
    },
    failed,
  };
}

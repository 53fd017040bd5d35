// Step logs on this machine: the file each supervisor writes, read a page at a time from a byte
// offset, so that neither the server nor a client ever holds a whole log (a step may print 200 MB).
// A page ends on a character boundary: a character split between two reads, or still being written,
// is left for the next page instead of being decoded in halves.

import { open } from 'node:fs/promises';
import type { LogChunk, LogReader } from '../core/ports';
import { stepHasEnded } from '../vocabulary/contract';
import type { FinalePaths } from './paths';

/** The most a page holds. */
const LOG_PAGE_BYTES = 1024 * 1024;

/**
 * How many bytes of `bytes` end on a UTF-8 character boundary: a trailing lead byte and the
 * continuation bytes after it are held back when the sequence they start is not complete.
 */
export function completeUtf8Length(bytes: Uint8Array): number {
  const end = bytes.length;
  // A character is at most four bytes: only the last three can belong to an incomplete one.
  for (let i = end - 1; i >= Math.max(0, end - 3); i--) {
    const byte = bytes[i]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return i + length > end ? i : end;
  }
  return end;
}

export function localLogReader(paths: FinalePaths, pageBytes = LOG_PAGE_BYTES): LogReader {
  return {
    async read(run, step, offset) {
      const status = run.steps[String(step)]?.status;
      // The supervisor has exited before a step's end is recorded: an ended step's file is whole.
      const ended = status !== undefined && stepHasEnded(status);
      let file: Awaited<ReturnType<typeof open>>;
      try {
        file = await open(paths.run(run.runId).log(step), 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        return { text: '', next: offset, complete: ended, more: false } satisfies LogChunk;
      }
      try {
        const { size } = await file.stat();
        const start = Math.min(offset, size);
        // A page holds at least one whole character (four bytes at most).
        const buffer = Buffer.alloc(Math.min(Math.max(pageBytes, 4), size - start));
        const { bytesRead } = await file.read(buffer, 0, buffer.length, start);
        const read = buffer.subarray(0, bytesRead);
        const last = start + bytesRead >= size;
        // At the very end of an ended step's log nothing more will come: a broken last character is
        // shown as such rather than held back forever.
        const usable = last && ended ? read.length : completeUtf8Length(read);
        const next = start + usable;
        return {
          text: read.subarray(0, usable).toString('utf8'),
          next,
          complete: ended && next >= size,
          // The page stopped before the end of the file; a character still being written is no more.
          more: !last,
        } satisfies LogChunk;
      } finally {
        await file.close();
      }
    },
  };
}

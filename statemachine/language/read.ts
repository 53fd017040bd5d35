// The only I/O of the language: read a file with the size limit applied before reading it whole.
import { open } from 'node:fs/promises';
import { UsageError } from '../../vocabulary/errors';
import { DiagnosticSink } from './diagnostics';
import { LIMITS } from './limits';
import type { ReadResult } from './model';
import { parseInto, result } from './parse';
import { decodeSource, tooLargeMessage } from './source';

/**
 * Reads and parses one pipeline file. A file that cannot be read at all (missing, a directory, no
 * permission) is a UsageError (exit 2); everything about its content is a diagnostic.
 */
export async function readPipelineFile(path: string): Promise<ReadResult> {
  const sink = new DiagnosticSink(path);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${describe(error)}`, { cause: error });
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new UsageError(`cannot read ${path}: it is a directory`);
    if (stat.size > LIMITS.maxFileBytes) {
      sink.error({ line: 1, column: 1 }, 'file-too-large', tooLargeMessage(stat.size));
      return result(sink, undefined);
    }
    // One byte more than the size, to notice a file that grew past the limit while it was read.
    const buffer = Buffer.allocUnsafe(stat.size + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    const text = decodeSource(buffer.subarray(0, length), sink);
    return result(sink, text === undefined ? undefined : parseInto(text, sink));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${path}: ${describe(error)}`, { cause: error });
  } finally {
    await handle.close();
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return error instanceof Error ? error.message : String(error);
}

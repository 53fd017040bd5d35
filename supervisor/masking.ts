// Secured values out of a step's output before it is stored or shown. As Bitbucket does, the exact
// value is replaced by its variable's name, `$NAME` (bitbucket.org/site/master/issues/16131): the
// reader sees which secret was printed, never its bytes. It works on bytes, not lines, so a value
// that spans a line break is masked too, and a value split across two writes (a read boundary) is
// held back until it is whole.

import { Transform, type TransformCallback } from 'node:stream';

export interface SecuredValue {
  readonly name: string;
  readonly value: string;
}

interface Needle {
  readonly bytes: Buffer;
  readonly replacement: Buffer;
}

/**
 * Replaces secured values in chunks of output, with the same result however the output is cut.
 * Only a tail that could begin a secured value is held back, so the live view lags by nothing when
 * no secret is being printed.
 */
export class Masker {
  private readonly needles: readonly Needle[];
  private pending = Buffer.alloc(0);

  constructor(secured: readonly SecuredValue[]) {
    // Longest first: of two values where one contains the other, the longer one is masked whole.
    this.needles = secured
      .filter((secret) => secret.value.length > 0)
      .map((secret) => ({ bytes: Buffer.from(secret.value), replacement: Buffer.from(`$${secret.name}`) }))
      .sort((a, b) => b.bytes.length - a.bytes.length);
  }

  /** The masked bytes that can be shown now. */
  write(chunk: Buffer): Buffer {
    return this.mask(chunk, false);
  }

  /** The rest when the output ends: what was held back, masked with nothing more to wait for. */
  end(): Buffer {
    return this.mask(Buffer.alloc(0), true);
  }

  private mask(chunk: Buffer, final: boolean): Buffer {
    if (this.needles.length === 0) return chunk;
    const data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const parts: Buffer[] = [];
    let from = 0;
    for (;;) {
      // A value that may still complete starts here; a match is final only if it starts earlier
      // (of two values at one place the longer wins, so a shorter one there must wait too).
      const waiting = final ? data.length : this.incompleteFrom(data, from);
      const found = this.firstMatch(data, from);
      if (!found || found.at >= waiting) {
        parts.push(data.subarray(from, waiting));
        this.pending = Buffer.from(data.subarray(waiting));
        return Buffer.concat(parts);
      }
      parts.push(data.subarray(from, found.at), found.needle.replacement);
      from = found.at + found.needle.bytes.length;
    }
  }

  /** The earliest whole value at or after `from`, the longest of those that start there. */
  private firstMatch(data: Buffer, from: number): { at: number; needle: Needle } | undefined {
    let found: { at: number; needle: Needle } | undefined;
    for (const needle of this.needles) {
      const at = data.indexOf(needle.bytes, from);
      if (at !== -1 && (!found || at < found.at)) found = { at, needle };
    }
    return found;
  }

  /** Where the earliest tail of `data` (from `from` on) begins that is the start of a longer value. */
  private incompleteFrom(data: Buffer, from: number): number {
    let earliest = data.length;
    for (const { bytes } of this.needles) {
      for (let k = Math.min(bytes.length - 1, data.length - from); data.length - k < earliest; k--) {
        if (data.subarray(data.length - k).equals(bytes.subarray(0, k))) {
          earliest = data.length - k;
          break;
        }
      }
    }
    return earliest;
  }
}

/** A stream that masks what passes through it (a step's stdout on its way to a log). */
export function maskingStream(secured: readonly SecuredValue[]): Transform {
  const masker = new Masker(secured);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      callback(null, masker.write(chunk));
    },
    flush(callback: TransformCallback) {
      callback(null, masker.end());
    },
  });
}

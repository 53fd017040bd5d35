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
    // Where a value that may still complete could start, earliest first: a match is final only if
    // it starts before the first of these at or after it (of two values at one place the longer
    // wins, so a shorter one there must wait too). Computed once per chunk, as is each value's next
    // position: a log with a secret on every line costs linear time, not matches × chunk size.
    const tails = final ? [] : this.tailStarts(data);
    const next = this.needles.map((needle) => data.indexOf(needle.bytes));
    let tail = 0;
    let from = 0;
    for (;;) {
      while (tail < tails.length && tails[tail]! < from) tail++;
      const waiting = tail < tails.length ? tails[tail]! : data.length;
      let best = -1;
      for (let i = 0; i < this.needles.length; i++) {
        if (next[i]! !== -1 && next[i]! < from) next[i] = data.indexOf(this.needles[i]!.bytes, from);
        // Needles are longest first: on a tie the earlier (longer) one stays.
        if (next[i]! !== -1 && (best === -1 || next[i]! < next[best]!)) best = i;
      }
      if (best === -1 || next[best]! >= waiting) {
        parts.push(data.subarray(from, waiting));
        this.pending = Buffer.from(data.subarray(waiting));
        return Buffer.concat(parts);
      }
      const needle = this.needles[best]!;
      const at = next[best]!;
      parts.push(data.subarray(from, at), needle.replacement);
      from = at + needle.bytes.length;
    }
  }

  /** Every position where a tail of `data` is the start (not the whole) of a value, ascending. */
  private tailStarts(data: Buffer): number[] {
    const starts: number[] = [];
    for (const { bytes } of this.needles) {
      for (let k = Math.min(bytes.length - 1, data.length); k > 0; k--) {
        if (data.subarray(data.length - k).equals(bytes.subarray(0, k))) starts.push(data.length - k);
      }
    }
    return starts.sort((a, b) => a - b);
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

// Step logs read a page at a time: pages end on character boundaries, whatever byte a read stops at.

import { mkdirSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { completeUtf8Length, localLogReader } from '../../local/logs';
import { finalePaths } from '../../local/paths';
import type { RunRecord } from '../../store/records';
import { temporaryDir } from '../supervisor/helpers';

const run = (status: string) =>
  ({
    runId: 'r1',
    steps: { '0': { index: 0, name: 'Log', kind: 'step', status, attempts: 1 } },
  }) as unknown as RunRecord;

describe('completeUtf8Length', () => {
  it('holds back a character cut at the end, and only that', () => {
    const euro = Buffer.from('€'); // e2 82 ac
    expect(completeUtf8Length(Buffer.concat([Buffer.from('ab'), euro]))).toBe(5);
    expect(completeUtf8Length(Buffer.concat([Buffer.from('ab'), euro.subarray(0, 2)]))).toBe(2);
    expect(completeUtf8Length(Buffer.concat([Buffer.from('ab'), euro.subarray(0, 1)]))).toBe(2);
    expect(completeUtf8Length(Buffer.from('😀').subarray(0, 3))).toBe(0);
    expect(completeUtf8Length(Buffer.from('plain'))).toBe(5);
    expect(completeUtf8Length(Buffer.alloc(0))).toBe(0);
  });
});

describe('the local log reader', () => {
  function logOf(bytes: Buffer) {
    const root = temporaryDir('logs');
    const paths = finalePaths(root);
    mkdirSync(`${paths.run('r1').dir}/logs`, { recursive: true });
    writeFileSync(paths.run('r1').log(0), bytes);
    return paths;
  }

  it('gives back the same text page after page, for any page size and any mix of characters', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.integer({ min: 1, max: 64 }),
        async (text, page) => {
          const paths = logOf(Buffer.from(text));
          const reader = localLogReader(paths, page);
          let offset = 0;
          let read = '';
          for (;;) {
            const chunk = await reader.read(run('SUCCESSFUL'), 0, offset);
            expect(chunk.text).not.toContain('\uFFFD');
            read += chunk.text;
            offset = chunk.next;
            if (!chunk.more) {
              expect(chunk.complete).toBe(true);
              break;
            }
          }
          expect(read).toBe(text);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('leaves a character still being written for the next read of a running step', async () => {
    const euro = Buffer.from('€');
    const paths = logOf(Buffer.concat([Buffer.from('price: '), euro.subarray(0, 2)]));
    const reader = localLogReader(paths);
    expect(await reader.read(run('RUNNING'), 0, 0)).toEqual({
      text: 'price: ',
      next: 7,
      complete: false,
      more: false,
    });
    writeFileSync(paths.run('r1').log(0), Buffer.concat([Buffer.from('price: '), euro, Buffer.from('5\n')]));
    expect(await reader.read(run('SUCCESSFUL'), 0, 7)).toEqual({
      text: '€5\n',
      next: 12,
      complete: true,
      more: false,
    });
  });

  it('says there is more when a page is full, and reads a missing log as empty', async () => {
    const paths = logOf(Buffer.from('x'.repeat(100)));
    const reader = localLogReader(paths, 40);
    expect(await reader.read(run('RUNNING'), 0, 0)).toMatchObject({ next: 40, more: true, complete: false });
    expect(await reader.read(run('SUCCESSFUL'), 0, 80)).toMatchObject({
      next: 100,
      more: false,
      complete: true,
    });
    const empty = localLogReader(finalePaths(temporaryDir('logs')));
    expect(await empty.read(run('PENDING'), 0, 0)).toEqual({
      text: '',
      next: 0,
      complete: false,
      more: false,
    });
  });
});

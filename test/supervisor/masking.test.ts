// Masking secured values in a step's output (supervisor/masking.ts): the exact value becomes
// `$NAME`, as in Bitbucket (bitbucket.org/site/master/issues/16131), however the output is cut.

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Masker, maskingStream, type SecuredValue } from '../../supervisor/masking';

const SECRETS: SecuredValue[] = [
  { name: 'NPM_TOKEN', value: 'npm_s3cr3tT0k3n' },
  { name: 'SSH_KEY', value: '-----BEGIN KEY-----\nAAAAB3NzaC1\n-----END KEY-----' },
  { name: 'PASSWORD', value: 'hunter2' },
  { name: 'PASSWORD_LONG', value: 'hunter2hunter2' },
  { name: 'EMOJI', value: 'ключ🔑' },
];

const ORACLE = new RegExp(
  [...SECRETS]
    .sort((a, b) => b.value.length - a.value.length)
    .map((secret) => secret.value.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|'),
  'g',
);

/** Masks `text` fed in the given pieces, as a log writer would see them. */
function masked(pieces: readonly Buffer[], secured = SECRETS): string {
  const masker = new Masker(secured);
  return Buffer.concat([...pieces.map((piece) => masker.write(piece)), masker.end()]).toString();
}

const TEXT = `+ npm publish --token npm_s3cr3tT0k3n
key: -----BEGIN KEY-----
AAAAB3NzaC1
-----END KEY-----
pw hunter2hunter2 and hunter2, ключ🔑!`;
const EXPECTED = `+ npm publish --token $NPM_TOKEN
key: $SSH_KEY
pw $PASSWORD_LONG and $PASSWORD, $EMOJI!`;

describe('masking secured values', () => {
  it('replaces each exact value by its name, across line breaks, the longer value first', () => {
    expect(masked([Buffer.from(TEXT)])).toBe(EXPECTED);
  });

  it('masks a value cut at any byte by a read boundary, even inside a UTF-8 character', () => {
    const bytes = Buffer.from(TEXT);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(masked([bytes.subarray(0, cut), bytes.subarray(cut)]), `cut at ${cut}`).toBe(EXPECTED);
    }
    // One byte at a time.
    expect(masked([...bytes].map((byte) => Buffer.from([byte])))).toBe(EXPECTED);
  });

  it('holds back only a tail that could begin a value, so the live view does not lag', () => {
    const masker = new Masker(SECRETS);
    expect(masker.write(Buffer.from('progress 50%\n')).toString()).toBe('progress 50%\n');
    expect(masker.write(Buffer.from('token npm_s3')).toString()).toBe('token ');
    expect(masker.write(Buffer.from('cr3tT0k3n done')).toString()).toBe('$NPM_TOKEN done');
    // A tail that began a value and never completed it is shown when the output ends.
    expect(masker.write(Buffer.from(' hunt')).toString()).toBe(' ');
    expect(masker.end().toString()).toBe('hunt');
  });

  it('keeps bytes that are not UTF-8 as they are, masking the value between them', () => {
    const invalid = Buffer.from([0xff, 0xfe, 0xc3]);
    const text = Buffer.concat([invalid, Buffer.from('hunter2'), invalid]);
    const masker = new Masker(SECRETS);
    const out = Buffer.concat([
      masker.write(text.subarray(0, 6)),
      masker.write(text.subarray(6)),
      masker.end(),
    ]);
    expect(out.equals(Buffer.concat([invalid, Buffer.from('$PASSWORD'), invalid]))).toBe(true);
  });

  it('leaves output alone when there is nothing to mask (an empty value masks nothing)', () => {
    const chunk = Buffer.from('hello\n');
    expect(new Masker([]).write(chunk)).toBe(chunk);
    expect(masked([chunk], [{ name: 'EMPTY', value: '' }])).toBe('hello\n');
  });

  it('never lets a value through, however a random stream of writes cuts it', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const words = [
      'log line\n',
      'npm_s3cr3tT0k3n',
      'hunter2',
      'hunter',
      'h',
      'hunter2hunter',
      'npm_s3',
      'ключ🔑',
      ' ',
      '\n',
    ];
    for (let round = 0; round < 200; round++) {
      const text = Buffer.from(Array.from({ length: 30 }, () => words[random(words.length)]).join(''));
      const pieces: Buffer[] = [];
      for (let at = 0; at < text.length; ) {
        const size = 1 + random(12);
        pieces.push(text.subarray(at, at + size));
        at += size;
      }
      // The oracle: one regular expression over the whole text, its alternatives longest first.
      const whole = text
        .toString()
        .replace(ORACLE, (value) => `$${SECRETS.find((s) => s.value === value)!.name}`);
      expect(masked([text])).toBe(whole);
      expect(masked(pieces)).toBe(whole);
      expect(whole).not.toContain('npm_s3cr3tT0k3n');
      expect(whole).not.toContain('hunter2');
    }
  });

  it("masks a real process's output written in two parts with a pause between them", async () => {
    const child = spawn('sh', ['-c', 'printf "deploy with npm_s3cr"; sleep 0.1; printf "3tT0k3n\\n"'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const out: Buffer[] = [];
    const stream = child.stdout.pipe(maskingStream(SECRETS));
    for await (const chunk of stream) out.push(chunk as Buffer);
    expect(Buffer.concat(out).toString()).toBe('deploy with $NPM_TOKEN\n');
  });
});

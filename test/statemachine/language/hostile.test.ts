// Hostile input: each gets one clear diagnostic, never an exception, a hang or a crash. Bounds on
// time are vitest's timeout; speed itself is measured in bench/language.bench.ts.
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../statemachine/language/index';
import { errors, message, parse } from './helpers';

const ok = 'pipelines:\n  default:\n    - step:\n        script: [make]\n';

describe('hostile input', () => {
  it('refuses text over 1 MB and names the limit', () => {
    const result = parse(`${ok}# ${'x'.repeat(LIMITS.maxFileBytes)}\n`);
    expect(errors(result)).toEqual(['file-too-large@1:1']);
    expect(message(result, 'file-too-large')).toMatch(/1\.0 MB; Finale reads pipeline files up to 1\.0 MB/);
  });

  it('accepts a file just under the limit', () => {
    const padding = LIMITS.maxFileBytes - ok.length - 10;
    expect(parse(`${ok}# ${'x'.repeat(padding)}\n`).ok).toBe(true);
  });

  it('stops deep flow nesting before the YAML composer recurses', () => {
    const result = parse('['.repeat(100_000));
    expect(errors(result)).toEqual([`too-deep@1:${LIMITS.maxNesting + 1}`]);
  });

  it('stops deep block nesting', () => {
    const result = parse(
      `a:\n${Array.from({ length: 200 }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}x\n`,
    );
    expect(errors(result)[0]).toMatch(/^too-deep@/);
  });

  it('stops deep nesting built from closed brackets, repeatedly, without exhausting the stack', () => {
    for (let i = 0; i < 3; i++) {
      expect(errors(parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`))).toEqual(['too-deep@1:65']);
    }
  });

  it('refuses an alias bomb early', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    const result = parse(`${levels.join('\n')}\n${ok}`);
    expect(result.ok).toBe(false);
    expect(errors(result)).toHaveLength(1);
    expect(errors(result)[0]).toMatch(/^alias-bomb@/);
    expect(message(result, 'alias-bomb')).toMatch(/more than 100,000 values/);
  });

  it('refuses an alias that contains itself', () => {
    expect(errors(parse(`x: &x {y: *x}\n${ok}`))).toEqual(['alias-cycle@1:11']);
  });

  it('reports a NUL byte as binary content', () => {
    expect(errors(parse(`pipelines:\n  default:\n\u0000\u0001\u0002`))).toEqual(['binary-content@3:1']);
  });

  it('reports an unpaired surrogate as text that is not UTF-8', () => {
    expect(errors(parse(`${ok}# \uD800\n`))).toEqual(['not-utf8@5:3']);
  });

  it('reports tab indentation on every line that uses it', () => {
    const result = parse('pipelines:\n\tdefault:\n\t\t- step:\n');
    expect(errors(result).filter((e) => e.startsWith('tab-indentation'))).toEqual([
      'tab-indentation@2:1',
      'tab-indentation@3:1',
    ]);
  });

  it('reports duplicate keys with the place of the first', () => {
    const result = parse(`${ok}pipelines: {}\n`);
    expect(errors(result)).toEqual(['duplicate-key@5:1']);
    expect(message(result, 'duplicate-key')).toBe(
      'duplicate key `pipelines` (first at 1:1); YAML keys must be unique',
    );
  });

  it('finds duplicates among very many keys in linear time', () => {
    const keys = Array.from({ length: 50_000 }, (_, i) => `k${i}: v`).join('\n');
    const result = parse(`definitions:\n  steps:\n${keys.replace(/^/gm, '    ')}\n    k7: again\n${ok}`);
    expect(errors(result)).toEqual(['duplicate-key@50003:5']);
  });

  it.each([
    ['a scalar', 'just text', 'not a single value'],
    ['a list', '- a\n- b\n', 'not a list'],
    ['empty', '', 'the file is empty'],
    ['only comments', '# nothing\n', 'the file is empty'],
  ])('says a document that is %s is not a mapping', (_, text, words) => {
    const result = parse(text);
    expect(errors(result)).toEqual(['not-a-mapping@1:1']);
    expect(message(result, 'not-a-mapping')).toContain(words);
  });

  it('handles thousands of YAML errors with a bounded list of diagnostics', () => {
    const result = parse(']\n'.repeat(50_000));
    expect(result.ok).toBe(false);
    expect(result.diagnostics.length).toBe(LIMITS.maxDiagnostics + 1);
    expect(result.diagnostics.at(-1)?.code).toBe('too-many-diagnostics');
  });

  it('treats a key named __proto__ as an ordinary (unknown) key', () => {
    const result = parse(
      'pipelines:\n  default:\n    - step:\n        __proto__: {script: [x]}\n        script: [make]\n',
    );
    expect(errors(result)).toEqual(['unknown-key@4:9']);
  });
});

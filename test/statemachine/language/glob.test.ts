import { describe, expect, it } from 'vitest';
import { compareSpecificity, expandBraces, matchGlob } from '../../../statemachine/language/glob';

describe('glob matching as Bitbucket reads branch patterns', () => {
  it.each([
    ['feature/*', 'feature/a', true],
    ['feature/*', 'feature/a/b', false],
    ['*', 'main', true],
    ['*', 'feature/a', false],
    ['**', 'feature/a/b', true],
    ['release/**', 'release/1/2', true],
    ['{main,develop}', 'develop', true],
    ['{main,develop}', 'dev', false],
    ['v?.*', 'v1.0', true],
    ['feat[0-9]', 'feat7', true],
    ['*', '.hidden', true],
    ['!main', '!main', true],
    ['!main', 'develop', false],
    ['+(a)', '+(a)', true],
    ['+(a)', 'a', false],
    ['release-(1)', 'release-(1)', true],
  ])('%s on %s: %s', (pattern, name, expected) => {
    expect(matchGlob(pattern, name) !== undefined).toBe(expected);
  });

  it('ranks exact names, then spelled-out characters, then fewer wildcards', () => {
    const rank = (name: string, patterns: string[]) =>
      patterns
        .map((p) => ({ p, s: matchGlob(p, name) }))
        .filter((x) => x.s)
        .sort((a, b) => compareSpecificity(a.s!, b.s!))
        .map((x) => x.p);
    expect(rank('my-branch-a', ['*', 'my-*', 'my-branch-*', 'my-branch-a', '**'])).toEqual([
      'my-branch-a',
      'my-branch-*',
      'my-*',
      '*',
      '**',
    ]);
    expect(rank('main', ['{main,develop}', 'main', 'm*'])).toEqual(['main', '{main,develop}', 'm*']);
  });

  it('expands nested braces, and leaves a pattern with too many combinations whole', () => {
    expect(expandBraces('a{b,c{d,e}}f')).toEqual(['abf', 'acdf', 'acef']);
    expect(expandBraces('{a,b}{c,d}')).toEqual(['ac', 'ad', 'bc', 'bd']);
    expect(expandBraces('plain')).toEqual(['plain']);
    const huge = '{a,b}'.repeat(10);
    expect(expandBraces(huge)).toEqual([huge]);
  });
});

// Trigger conditions: Bitbucket's operators ("&&, ||, (), >, <, <=, >=, ==, != and ! along with
// comparisons and pattern matching using glob() functions",
// https://www.atlassian.com/blog/bitbucket/reimagining-how-you-structure-workflows-in-bitbucket-pipelines)
// and nothing more.
import { describe, expect, it } from 'vitest';
import { evaluateCondition, parseCondition } from '../../../statemachine/language/conditions';

const holds = (text: string, variables: Record<string, string> = {}): boolean => {
  const parsed = parseCondition(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return evaluateCondition(parsed.condition, variables);
};
const problem = (text: string): string => {
  const parsed = parseCondition(text);
  if (parsed.ok) throw new Error(`${text} was accepted`);
  return parsed.message;
};

describe('trigger conditions', () => {
  const main = { BITBUCKET_BRANCH: 'main', BITBUCKET_PR_DESTINATION_BRANCH: 'release/2' };

  it('compare text and numbers, with either quote', () => {
    expect(holds('BITBUCKET_BRANCH == "main"', main)).toBe(true);
    expect(holds("BITBUCKET_BRANCH != 'main'", main)).toBe(false);
    expect(holds('BUILD > 9', { BUILD: '10' })).toBe(true); // as numbers, not as text
    expect(holds('"b" > "a"')).toBe(true);
    expect(holds('BUILD <= 3 && BUILD >= 3 && BUILD < 4', { BUILD: '3' })).toBe(true);
  });

  it('match globs as the selectors do, and read unset variables as empty', () => {
    expect(holds('glob(BITBUCKET_PR_DESTINATION_BRANCH, "release/*")', main)).toBe(true);
    expect(holds('glob(BITBUCKET_BRANCH, "feature/**")', main)).toBe(false);
    expect(holds('BITBUCKET_TAG == ""', main)).toBe(true);
  });

  it('bind ! tighter than &&, and && tighter than ||; parentheses group', () => {
    expect(
      holds('BITBUCKET_BRANCH == "x" || BITBUCKET_BRANCH == "main" && !(BITBUCKET_TAG != "")', main),
    ).toBe(true);
    expect(
      holds('(BITBUCKET_BRANCH == "x" || BITBUCKET_BRANCH == "main") && BITBUCKET_TAG != ""', main),
    ).toBe(false);
    expect(holds('!!(BITBUCKET_BRANCH == "main")', main)).toBe(true);
  });

  it('refuse what Bitbucket’s conditions do not have, saying where', () => {
    expect(problem('BITBUCKET_BRANCH')).toContain('the variable BITBUCKET_BRANCH is not true or false');
    expect(problem('A == "x" == "y"')).toContain('unexpected `==` at character 10');
    expect(problem('(A == "x") == "y"')).toContain('a comparison or glob() cannot be compared again');
    expect(problem('A = "x"')).toContain('`=` at character 3 is not part of a trigger condition');
    expect(problem('startsWith(A, "x")')).toContain('the only function of trigger conditions is glob');
    expect(problem('glob(A)')).toContain('glob() takes two arguments');
    expect(problem('A == "main')).toContain('has no closing "');
    expect(problem('(A == "x"')).toContain('expected `)` at the end');
    expect(problem('A ==')).toContain('the condition ends where a value was expected');
  });
});

// Bitbucket's rules for variables (support.atlassian.com/bitbucket-cloud/docs/variables-and-secrets/:
// "Names can only contain ASCII letters, digits and underscores", "can't start with a digit") and
// the precedence of its kinds: deployment over repository, custom pipeline variables over both.
import { describe, expect, it } from 'vitest';
import {
  applicableVariables,
  checkVariableName,
  checkVariableValue,
  REPOSITORY_SCOPE,
  type ScopedVariable,
  securedOutputNames,
  VARIABLE_LIMITS,
} from '../../core/variable-rules';

const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (error) {
    return error as Error & { exitCode: number };
  }
  throw new Error('expected a refusal');
};

describe('variable names', () => {
  it.each(['A', '_', 'NPM_TOKEN', 'aws_key_2', '_9'])('accepts %s', (name) => {
    expect(() => checkVariableName(name)).not.toThrow();
  });

  it.each([
    ['', 'A variable needs a name'],
    ['9LIVES', 'Invalid variable name "9LIVES": it starts with a digit'],
    ['MY-VAR', 'Invalid variable name "MY-VAR": only ASCII letters, digits and underscores are allowed'],
    ['CAFÉ', 'Invalid variable name "CAFÉ": only ASCII letters, digits and underscores are allowed'],
    ['A B', 'Invalid variable name "A B": only ASCII letters, digits and underscores are allowed'],
    [
      'BITBUCKET_BRANCH',
      "Invalid variable name BITBUCKET_BRANCH: names starting with BITBUCKET_ are reserved (Bitbucket's default variables cannot be overridden)",
    ],
    [
      'FINALE_DIR',
      "Invalid variable name FINALE_DIR: names starting with FINALE_ are reserved (Finale's own settings)",
    ],
    [
      'CI',
      "Invalid variable name CI: CI is a default variable (Bitbucket's default variables cannot be overridden)",
    ],
  ])('refuses %j, naming it', (name, message) => {
    const error = refusal(() => checkVariableName(name));
    expect(error.message).toBe(message);
    expect(error.exitCode).toBe(2);
  });
});

describe('variable values', () => {
  it('holds up to the limit in bytes, counted in UTF-8', () => {
    expect(() => checkVariableValue('K', 'x'.repeat(VARIABLE_LIMITS.valueBytes), true)).not.toThrow();
    expect(refusal(() => checkVariableValue('K', 'x'.repeat(4095) + 'é', false)).message).toBe(
      'Variable K is 4097 bytes; a value holds at most 4096 bytes',
    );
  });

  it('refuses empty values, NUL bytes and secured values too short to mask', () => {
    expect(refusal(() => checkVariableValue('K', '', false)).message).toBe('Variable K has an empty value');
    expect(refusal(() => checkVariableValue('K', 'a\0b', false)).message).toBe(
      'Variable K contains a NUL byte',
    );
    expect(refusal(() => checkVariableValue('PIN', '123', true)).message).toBe(
      'Secured variable PIN is shorter than 4 characters: it could not be masked without hiding unrelated output',
    );
    // Plain values may be short: nothing is masked.
    expect(() => checkVariableValue('DEBUG', '1', false)).not.toThrow();
    expect(() => checkVariableValue('PIN', '1234', true)).not.toThrow();
  });
});

describe('precedence', () => {
  const variable = (name: string, value: string, environment?: string): ScopedVariable<string> => ({
    name,
    value,
    secured: false,
    scope: environment ? { kind: 'deployment', environment } : REPOSITORY_SCOPE,
  });
  const stored = [
    variable('API_URL', 'repo'),
    variable('API_URL', 'staging', 'staging'),
    variable('API_URL', 'production', 'production'),
    variable('ONLY_REPO', 'r'),
    variable('ONLY_PROD', 'p', 'production'),
    variable('OVERRIDDEN', 'stored'),
  ];
  const values = (list: ScopedVariable<string>[]) => Object.fromEntries(list.map((v) => [v.name, v.value]));

  it('a deployment variable overrides the repository one, in its environment only', () => {
    expect(values(applicableVariables(stored, 'staging', {}))).toEqual({
      API_URL: 'staging',
      ONLY_REPO: 'r',
      OVERRIDDEN: 'stored',
    });
    expect(values(applicableVariables(stored, 'production', {}))).toEqual({
      API_URL: 'production',
      ONLY_PROD: 'p',
      ONLY_REPO: 'r',
      OVERRIDDEN: 'stored',
    });
    expect(values(applicableVariables(stored, undefined, {}))).toEqual({
      API_URL: 'repo',
      ONLY_REPO: 'r',
      OVERRIDDEN: 'stored',
    });
  });

  it('a custom pipeline variable takes the name from both', () => {
    expect(values(applicableVariables(stored, 'staging', { API_URL: 'custom', OVERRIDDEN: 'x' }))).toEqual({
      ONLY_REPO: 'r',
    });
  });
});

describe('secured output variables', () => {
  it('are those whose value holds a secured value', () => {
    expect(
      securedOutputNames({ A: 'pre-s3cret-post', B: 'plain', C: 's3cret' }, ['s3cret', 'other-value']),
    ).toEqual(['A', 'C']);
    expect(securedOutputNames({ A: 'x' }, [])).toEqual([]);
  });
});

// The conditions of Bitbucket's `triggers`: "&&, ||, (), >, <, <=, >=, ==, != and ! along with
// comparisons and pattern matching using glob() functions" over the trigger's variables
// (https://www.atlassian.com/blog/bitbucket/reimagining-how-you-structure-workflows-in-bitbucket-pipelines).
// The language is this small, so it is read here (a general expression library cost the webhook
// Lambda 11 KB, past its size goal, to accept more than Bitbucket does).
import { matchGlob } from './glob';

type Value = { readonly variable: string } | { readonly literal: string | number };

type Condition =
  | { readonly op: '&&' | '||'; readonly left: Condition; readonly right: Condition }
  | { readonly op: '!'; readonly operand: Condition }
  | { readonly op: Comparison; readonly left: Value; readonly right: Value }
  | { readonly op: 'glob'; readonly value: Value; readonly pattern: Value };

const COMPARISONS = ['==', '!=', '<=', '>=', '<', '>'] as const;
type Comparison = (typeof COMPARISONS)[number];

type Token =
  | { readonly kind: 'operator'; readonly text: string; readonly at: number }
  | { readonly kind: 'name'; readonly text: string; readonly at: number }
  | { readonly kind: 'literal'; readonly value: string | number; readonly at: number };

class ConditionError extends Error {}

const OPERATORS = ['&&', '||', '==', '!=', '<=', '>=', '<', '>', '!', '(', ')', ','];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const operator = OPERATORS.find((op) => rest.startsWith(op));
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    const number = /^-?\d+(\.\d+)?/.exec(rest);
    const quote = rest[0] === '"' || rest[0] === "'" ? rest[0] : undefined;
    if (operator) tokens.push({ kind: 'operator', text: operator, at: i });
    else if (name) tokens.push({ kind: 'name', text: name[0], at: i });
    else if (number) tokens.push({ kind: 'literal', value: Number(number[0]), at: i });
    else if (quote) {
      const end = rest.indexOf(quote, 1);
      if (end < 0)
        throw new ConditionError(`the text starting at character ${i + 1} has no closing ${quote}`);
      tokens.push({ kind: 'literal', value: rest.slice(1, end), at: i });
      i += end + 1;
      continue;
    } else {
      const shown = /^\S+/.exec(rest)?.[0] ?? rest;
      throw new ConditionError(
        `\`${shown}\` at character ${i + 1} is not part of a trigger condition (use &&, ||, !, ==, !=, <, >, <=, >=, glob())`,
      );
    }
    i += operator?.length ?? name?.[0].length ?? number?.[0].length ?? 1;
  }
  return tokens;
}

type Parsed = { readonly truth: Condition } | { readonly value: Value };

// Recursive descent, lowest precedence first: || then && then ! then comparisons.
function parser(tokens: readonly Token[], text: string) {
  let next = 0;
  const peek = () => tokens[next];
  const where = () => {
    const token = peek();
    return token ? `at character ${token.at + 1}` : 'at the end';
  };
  const take = (operator: string): boolean => {
    const token = peek();
    if (token?.kind !== 'operator' || token.text !== operator) return false;
    next++;
    return true;
  };
  const expect = (operator: string): void => {
    if (!take(operator)) throw new ConditionError(`expected \`${operator}\` ${where()}`);
  };
  const truth = (parsed: Parsed): Condition => {
    if ('truth' in parsed) return parsed.truth;
    const what = 'variable' in parsed.value ? `the variable ${parsed.value.variable}` : 'a value';
    throw new ConditionError(
      `${what} is not true or false; compare it (==, !=, <, …) or match it with glob()`,
    );
  };
  const value = (parsed: Parsed): Value => {
    if ('value' in parsed) return parsed.value;
    throw new ConditionError(
      'a comparison or glob() cannot be compared again; combine conditions with && and ||',
    );
  };

  const either = (): Parsed => {
    let left = both();
    while (take('||')) left = { truth: { op: '||', left: truth(left), right: truth(both()) } };
    return left;
  };
  const both = (): Parsed => {
    let left = negation();
    while (take('&&')) left = { truth: { op: '&&', left: truth(left), right: truth(negation()) } };
    return left;
  };
  const negation = (): Parsed =>
    take('!') ? { truth: { op: '!', operand: truth(negation()) } } : comparison();
  const comparison = (): Parsed => {
    const left = primary();
    const token = peek();
    const op = token?.kind === 'operator' ? COMPARISONS.find((c) => c === token.text) : undefined;
    if (!op) return left;
    next++;
    return { truth: { op, left: value(left), right: value(primary()) } };
  };
  const primary = (): Parsed => {
    const token = peek();
    if (!token) throw new ConditionError('the condition ends where a value was expected');
    next++;
    if (token.kind === 'literal') return { value: { literal: token.value } };
    if (token.kind === 'operator') {
      if (token.text !== '(')
        throw new ConditionError(`unexpected \`${token.text}\` at character ${token.at + 1}`);
      const inner = either();
      expect(')');
      return inner;
    }
    if (!take('(')) return { value: { variable: token.text } };
    if (token.text !== 'glob')
      throw new ConditionError(
        `\`${token.text}()\`: the only function of trigger conditions is glob(VALUE, "pattern")`,
      );
    const subject = value(either());
    if (!take(',')) throw new ConditionError('glob() takes two arguments: a value and a pattern');
    const pattern = value(either());
    expect(')');
    return { truth: { op: 'glob', value: subject, pattern } };
  };

  return () => {
    if (tokens.length === 0) throw new ConditionError('the condition is empty');
    const condition = truth(either());
    if (next < tokens.length)
      throw new ConditionError(`unexpected ${describe(tokens[next], text)} ${where()}`);
    return condition;
  };
}

function describe(token: Token | undefined, text: string): string {
  if (!token) return 'end';
  return `\`${token.kind === 'literal' ? text.slice(token.at).split(/\s/)[0] : token.text}\``;
}

/** The parsed condition, or what is wrong with it, worded for the person who wrote it. */
export function parseCondition(
  text: string,
): { ok: true; condition: Condition } | { ok: false; message: string } {
  try {
    return { ok: true, condition: parser(tokenize(text), text)() };
  } catch (error) {
    if (error instanceof ConditionError)
      return { ok: false, message: `the condition cannot be read: ${error.message}` };
    throw error;
  }
}

/** Evaluates a parsed condition; a variable the trigger does not set is empty. */
export function evaluateCondition(
  condition: Condition,
  variables: Readonly<Record<string, string>>,
): boolean {
  const read = (v: Value): string | number => ('variable' in v ? (variables[v.variable] ?? '') : v.literal);
  switch (condition.op) {
    case '&&':
      return evaluateCondition(condition.left, variables) && evaluateCondition(condition.right, variables);
    case '||':
      return evaluateCondition(condition.left, variables) || evaluateCondition(condition.right, variables);
    case '!':
      return !evaluateCondition(condition.operand, variables);
    case 'glob':
      return matchGlob(String(read(condition.pattern)), String(read(condition.value))) !== undefined;
    default:
      return compare(condition.op, read(condition.left), read(condition.right));
  }
}

// Numbers compare as numbers when both sides read as numbers; anything else compares as text.
function compare(operator: Comparison, a: string | number, b: string | number): boolean {
  const numeric = a !== '' && b !== '' && Number.isFinite(Number(a)) && Number.isFinite(Number(b));
  const [x, y] = numeric ? [Number(a), Number(b)] : [String(a), String(b)];
  switch (operator) {
    case '==':
      return x === y;
    case '!=':
      return x !== y;
    case '<':
      return x < y;
    case '>':
      return x > y;
    case '<=':
      return x <= y;
    case '>=':
      return x >= y;
  }
}

// The conditions of Bitbucket's `triggers`: "&&, ||, (), >, <, <=, >=, ==, != and ! along with
// comparisons and pattern matching using glob() functions" over the trigger's variables
// (https://www.atlassian.com/blog/bitbucket/reimagining-how-you-structure-workflows-in-bitbucket-pipelines).
// jsep reads the expression; this module allows only that subset, and evaluates it.
import jsep, { type Expression } from 'jsep';
import { matchGlob } from './glob';

export type Condition = Expression;

const LOGICAL = new Set(['&&', '||']);
const COMPARISON = new Set(['==', '!=', '<', '>', '<=', '>=']);

type Kind = 'truth' | 'value';

/** The parsed condition, or what is wrong with it, worded for the person who wrote it. */
export function parseCondition(
  text: string,
): { ok: true; condition: Condition } | { ok: false; message: string } {
  let condition: Expression;
  try {
    condition = jsep(text);
  } catch (error) {
    return { ok: false, message: `the condition cannot be read: ${(error as Error).message}` };
  }
  const problem = check(condition, 'truth');
  return problem === undefined ? { ok: true, condition } : { ok: false, message: problem };
}

function describe(node: Expression): string {
  switch (node.type) {
    case 'Identifier':
      return `the variable ${String(node.name)}`;
    case 'Literal':
      return `the value ${String(node.raw)}`;
    default:
      return 'a comparison';
  }
}

function check(node: Expression, want: Kind): string | undefined {
  const kind = kindOf(node);
  if (kind.startsWith('!')) return kind.slice(1);
  if (kind !== want)
    return want === 'truth'
      ? `${describe(node)} is not true or false; compare it (==, !=, <, …) or match it with glob()`
      : 'a comparison or glob() cannot be compared again; combine conditions with && and ||';
  switch (node.type) {
    case 'BinaryExpression': {
      const operand: Kind = LOGICAL.has(String(node.operator)) ? 'truth' : 'value';
      return check(node.left as Expression, operand) ?? check(node.right as Expression, operand);
    }
    case 'UnaryExpression':
      return check(node.argument as Expression, 'truth');
    case 'CallExpression': {
      const args = node.arguments as Expression[];
      return args.map((arg) => check(arg, 'value')).find((p) => p !== undefined);
    }
    default:
      return undefined;
  }
}

/** What a node yields, or `!problem` when the node is not part of Bitbucket's language. */
function kindOf(node: Expression): Kind | `!${string}` {
  switch (node.type) {
    case 'BinaryExpression': {
      const operator = String(node.operator);
      if (LOGICAL.has(operator)) return 'truth';
      if (COMPARISON.has(operator)) return 'truth';
      return `!\`${operator}\` is not an operator of trigger conditions (use &&, ||, !, ==, !=, <, >, <=, >=)`;
    }
    case 'UnaryExpression':
      return node.operator === '!'
        ? 'truth'
        : `!\`${String(node.operator)}\` is not an operator of trigger conditions`;
    case 'CallExpression': {
      const callee = node.callee as Expression;
      if (callee.type !== 'Identifier' || callee.name !== 'glob')
        return '!the only function of trigger conditions is glob(VARIABLE, "pattern")';
      if ((node.arguments as Expression[]).length !== 2)
        return '!glob() takes two arguments: a value and a pattern';
      return 'truth';
    }
    case 'Identifier':
    case 'Literal':
      return 'value';
    default:
      return `!this is not part of a trigger condition (${node.type})`;
  }
}

/** Evaluates a condition that parseCondition accepted; a variable the trigger does not set is empty. */
export function evaluateCondition(node: Condition, variables: Readonly<Record<string, string>>): boolean {
  return Boolean(evaluate(node, variables));
}

function evaluate(node: Expression, variables: Readonly<Record<string, string>>): string | number | boolean {
  switch (node.type) {
    case 'Identifier':
      return variables[String(node.name)] ?? '';
    case 'Literal':
      return typeof node.value === 'number' || typeof node.value === 'boolean'
        ? node.value
        : String(node.value);
    case 'UnaryExpression':
      return !evaluate(node.argument as Expression, variables);
    case 'CallExpression': {
      const [value, pattern] = (node.arguments as Expression[]).map((arg) =>
        String(evaluate(arg, variables)),
      );
      return matchGlob(pattern ?? '', value ?? '') !== undefined;
    }
    case 'BinaryExpression': {
      const operator = String(node.operator);
      const left = evaluate(node.left as Expression, variables);
      if (operator === '&&') return Boolean(left) && Boolean(evaluate(node.right as Expression, variables));
      if (operator === '||') return Boolean(left) || Boolean(evaluate(node.right as Expression, variables));
      return compare(operator, left, evaluate(node.right as Expression, variables));
    }
    default:
      return false;
  }
}

// Numbers compare as numbers when both sides read as numbers; anything else compares as text.
function compare(operator: string, a: string | number | boolean, b: string | number | boolean): boolean {
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
    default:
      return x >= y;
  }
}

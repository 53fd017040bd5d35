// A text outline of a compiled state machine, in execution order, for `finale graph`: what each state
// does, where it goes next, and where its errors go.

import { type AslDefinition, type AslState, type Plan, RESOURCES } from './plan';

interface Line {
  readonly depth: number;
  readonly name: string;
  readonly what: string;
  readonly flow: string;
}

function describe(state: AslState): string {
  const payload = (state.Parameters as { Payload?: Record<string, unknown> } | undefined)?.Payload ?? {};
  const step = payload.step === undefined ? '' : ` step ${payload.step}`;
  switch (state.Type) {
    case 'Task':
      if (state.Resource === RESOURCES.runTask) {
        const definition = (state.Parameters as Record<string, string>)['TaskDefinition.$'] ?? '';
        return `ECS task ${definition.replace(/^.*\.s/, 'step ')} (timeout ${state.TimeoutSeconds}s)`;
      }
      if (state.Resource === RESOURCES.controlWait) {
        return payload.action === 'acquireLock'
          ? `waits for lock ${payload.lock}${step}`
          : `waits for approval${step}`;
      }
      return `control ${payload.action}${step}`;
    case 'Parallel':
      return `parallel, ${(state.Branches as unknown[]).length} branches`;
    case 'Choice':
      return 'choice';
    case 'Pass':
      return `pass ${JSON.stringify(state.Result)}`;
    case 'Succeed':
      return 'succeeds';
    case 'Fail':
      return `fails with ${state.Error}`;
    default:
      return state.Type;
  }
}

type Rule = Record<string, unknown> & { Variable?: string; And?: Rule[]; Or?: Rule[] };

/** `$.finish.Payload.status = SUCCESSFUL`, `any of (…)`; IsPresent guards are left out as noise. */
function ruleText(rule: Rule): string {
  if (rule.And)
    return rule.And.filter((r) => !('IsPresent' in r))
      .map(ruleText)
      .join(' and ');
  if (rule.Or)
    return rule.Or.length === 1 ? ruleText(rule.Or[0]!) : `any of (${rule.Or.map(ruleText).join(', ')})`;
  const [operator, value] = Object.entries(rule).find(([key]) => key !== 'Variable' && key !== 'Next') ?? [
    '',
    '',
  ];
  const symbol = operator.endsWith('Equals') ? '=' : operator;
  return `${rule.Variable} ${symbol} ${JSON.stringify(value)}`;
}

function flowOf(state: AslState, following: string | undefined): string {
  const parts: string[] = [];
  if (state.Type === 'Choice') {
    for (const choice of state.Choices as (Rule & { Next: string })[]) {
      parts.push(`if ${ruleText(choice)} → ${choice.Next}`);
    }
    parts.push(`else → ${state.Default}`);
  } else if (typeof state.Next === 'string' && state.Next !== following) {
    parts.push(`→ ${state.Next}`);
  } else if (state.End) {
    parts.push('end of branch');
  }
  for (const catcher of (state.Catch as { ErrorEquals: string[]; Next: string }[] | undefined) ?? []) {
    parts.push(`on ${catcher.ErrorEquals.join('|')} → ${catcher.Next}`);
  }
  return parts.join('; ');
}

function outline(definition: Pick<AslDefinition, 'States'>, depth: number, lines: Line[]): void {
  const entries = Object.entries(definition.States);
  entries.forEach(([name, state], i) => {
    lines.push({ depth, name, what: describe(state), flow: flowOf(state, entries[i + 1]?.[0]) });
    if (state.Type === 'Parallel') {
      (state.Branches as AslDefinition[]).forEach((branch, b) => {
        lines.push({ depth: depth + 1, name: `branch ${b + 1}`, what: '', flow: '' });
        outline(branch, depth + 2, lines);
      });
    }
  });
}

export function renderGraph(plan: Plan): string {
  const lines: Line[] = [];
  outline(plan.definition, 0, lines);
  const width = Math.min(60, Math.max(...lines.map((line) => line.depth * 2 + line.name.length)));
  const body = lines.map((line) => {
    const label = `${'  '.repeat(line.depth)}${line.name}`;
    const pad = label.length < width ? ' '.repeat(width - label.length) : ' ';
    return `${label}${pad}  ${line.what}${line.flow ? `  ${line.flow}` : ''}`.trimEnd();
  });
  const { stats } = plan;
  return [
    `${plan.definition.Comment ?? plan.pipeline}`,
    `${stats.states} states; a successful run takes ${stats.happyPathTransitions} state transitions (${stats.transitionsPerStep} per step); worst case ${stats.worstCaseHistoryEvents} history events`,
    '',
    ...body,
    '',
  ].join('\n');
}

// Which JSONPaths are provably present: a forward data-flow analysis of what each state's input
// certainly holds, from the execution input at StartAt through every edge (Catch edges included), with
// intersections where paths join, iterated to a fixpoint (Step.Retry catches and Retry loops make
// cycles). A state that reads a path its input may lack raises States.Runtime (errors.ts).

import type { ExecutionInput, StepSpec } from '../compiler/plan';
import { RESOURCES } from '../compiler/plan';
import { controlResultFields } from './contract';
import {
  type Catcher,
  catchersOf,
  choiceRules,
  edgesOf,
  isRecord,
  type Rule,
  type StateGraph,
  successOf,
  text,
} from './graph';
import { parsePath, pathsReadBy } from './jsonpath';
import { intersect, LEAF, lookup, type Shape, shapeFrom, shapeOf, withPath } from './shape';

type EnvFields = { readonly [K in keyof ExecutionInput['env']]-?: Shape };
type InputFields = { readonly [K in keyof ExecutionInput]-?: Shape };

/**
 * The execution input every run starts with (ExecutionInput), with a task definition for each step
 * that runs: the one description of it here, tied to the interface by its type.
 */
export function executionInputShape(steps: readonly Pick<StepSpec, 'index' | 'skipped'>[]): Shape {
  const taskDefinitions = shapeFrom(
    Object.fromEntries(steps.filter((s) => !s.skipped).map((s) => [`s${s.index}`, LEAF])),
  );
  const env: EnvFields = {
    control: LEAF,
    cluster: LEAF,
    subnets: LEAF,
    securityGroups: LEAF,
    assignPublicIp: LEAF,
    taskDefinitions,
  };
  const input: InputFields = { runId: LEAF, planHash: LEAF, recover: LEAF, env: shapeFrom(env) };
  return shapeFrom(input);
}

/** The context object (`$$`): what Step Functions always provides, and the execution input. */
function contextShape(input: Shape): Shape {
  return shapeFrom({
    Execution: shapeFrom({ Input: input, Id: LEAF, Name: LEAF, StartTime: LEAF, RoleArn: LEAF }),
    State: shapeFrom({ Name: LEAF, EnteredTime: LEAF, RetryCount: LEAF }),
    StateMachine: shapeFrom({ Id: LEAF, Name: LEAF }),
    Task: shapeFrom({ Token: LEAF }),
  });
}

/** A Catch hands on Step Functions' error object. */
const ERROR_OUTPUT = shapeFrom({ Error: LEAF, Cause: LEAF });

/** Evaluates paths against one value (`$`) and the context (`$$`), noting those that may be missing. */
class Reader {
  constructor(
    private readonly context: Shape,
    readonly missing: string[],
  ) {}

  read(path: string, current: Shape): Shape | undefined {
    const parsed = parsePath(path);
    const found = parsed && lookup(parsed.root === '$$' ? this.context : current, parsed.keys);
    if (found === undefined) this.missing.push(path);
    return found;
  }

  /** InputPath and OutputPath: undefined keeps the value, null gives `{}`. */
  select(path: unknown, current: Shape): Shape {
    if (path === undefined) return current;
    if (typeof path !== 'string') return LEAF;
    return this.read(path, current) ?? LEAF;
  }

  /** Parameters, ResultSelector: static fields are present; a `.$` field is, once its paths are read. */
  template(template: unknown, current: Shape): Shape {
    if (Array.isArray(template))
      return new Map(template.map((v, i) => [String(i), this.template(v, current)]));
    if (!isRecord(template)) return LEAF;
    const fields = new Map<string, Shape>();
    for (const [key, value] of Object.entries(template)) {
      if (!key.endsWith('.$')) {
        fields.set(key, this.template(value, current));
        continue;
      }
      // A `.$` value that is not a string is no path at all: Step Functions cannot resolve it either.
      const paths = typeof value === 'string' ? pathsReadBy(value) : [JSON.stringify(value)];
      const read = paths.map((path) => this.read(path, current));
      const whole = typeof value === 'string' && paths.length === 1 && paths[0] === value;
      fields.set(key.slice(0, -2), (whole ? read[0] : undefined) ?? LEAF);
    }
    return fields;
  }
}

/** ResultPath (of a state or a Catcher): where the result goes in the state's raw input. */
function placeResult(input: Shape, result: Shape, resultPath: unknown): Shape {
  if (resultPath === null) return input;
  if (resultPath === undefined) return result;
  const parsed = typeof resultPath === 'string' ? parsePath(resultPath) : undefined;
  if (parsed?.root !== '$') return LEAF;
  return withPath(input, parsed.keys, result);
}

/** What a Task's resource returns: the control function's contract, or nothing known. */
function taskResult(state: Record<string, unknown>): Shape {
  if (state.Resource !== RESOURCES.control) return LEAF;
  const parameters = isRecord(state.Parameters) ? state.Parameters : {};
  const payload = isRecord(parameters.Payload) ? parameters.Payload : {};
  const action = typeof payload.action === 'string' ? payload.action : undefined;
  const fields = controlResultFields(action);
  return shapeFrom({ Payload: new Map(fields.map((field) => [field, LEAF])) });
}

/** The JSONPaths a Choice rule compares: its Variable (except in IsPresent) and any `…Path` operand. */
function ruleReads(rule: Rule): string[] {
  const nested = ['And', 'Or'].flatMap((op) => (Array.isArray(rule[op]) ? rule[op].filter(isRecord) : []));
  const not = isRecord(rule.Not) ? [rule.Not] : [];
  const own: string[] = [];
  if (typeof rule.Variable === 'string' && !('IsPresent' in rule)) own.push(rule.Variable);
  for (const [key, value] of Object.entries(rule)) {
    if (key.endsWith('Path') && typeof value === 'string') own.push(value);
  }
  return [...own, ...[...nested, ...not].flatMap(ruleReads)];
}

/** On a rule's edge, the paths its IsPresent: true conditions (alone or in an And) proved present. */
function presentAfter(rule: Rule): string[] {
  if (rule.IsPresent === true && typeof rule.Variable === 'string') return [rule.Variable];
  return Array.isArray(rule.And) ? rule.And.filter(isRecord).flatMap(presentAfter) : [];
}

interface StateFlow {
  /** JSONPaths the state reads that may be missing. */
  readonly missing: readonly string[];
  /** Its output on Next or End; undefined when it never completes (a Parallel with a branch that never ends). */
  readonly output: Shape | undefined;
  /** A Choice's output per rule, with what the rule proved. */
  readonly ruleOutputs: readonly Shape[];
  /** What a Parallel's branches start with. */
  readonly branchInput: Shape;
}

/** One state's transfer function. `branchResults`: a Parallel's branch outputs, where known. */
function flowOf(
  state: Record<string, unknown> & { readonly Type: string },
  input: Shape,
  context: Shape,
  branchResults: readonly (Shape | undefined)[] = [],
): StateFlow {
  const missing: string[] = [];
  const reader = new Reader(context, missing);
  const effective = state.Type === 'Fail' ? input : reader.select(state.InputPath, input);
  const finish = (result: Shape | undefined): Shape | undefined => {
    if (result === undefined) return undefined;
    const selected =
      state.ResultSelector === undefined ? result : reader.template(state.ResultSelector, result);
    return reader.select(state.OutputPath, placeResult(input, selected, state.ResultPath));
  };
  const flow = (output: Shape | undefined, extra: Partial<StateFlow> = {}): StateFlow => ({
    missing,
    output,
    ruleOutputs: [],
    branchInput: effective,
    ...extra,
  });

  switch (state.Type) {
    case 'Task': {
      if (state.Parameters !== undefined) reader.template(state.Parameters, effective);
      for (const field of ['TimeoutSecondsPath', 'HeartbeatSecondsPath']) {
        const path = text(state, field);
        if (path !== undefined) reader.read(path, effective);
      }
      return flow(finish(taskResult(state)));
    }
    case 'Pass': {
      const parameters =
        state.Parameters === undefined ? effective : reader.template(state.Parameters, effective);
      return flow(finish('Result' in state ? shapeOf(state.Result) : parameters));
    }
    case 'Parallel': {
      const branchInput =
        state.Parameters === undefined ? effective : reader.template(state.Parameters, effective);
      const known = branchResults.every((r) => r !== undefined) ? (branchResults as Shape[]) : undefined;
      // A Parallel's result is the array of its branches' outputs.
      return flow(finish(known && new Map(known.map((r, i) => [String(i), r]))), { branchInput });
    }
    case 'Map': {
      const items = text(state, 'ItemsPath');
      if (items !== undefined) reader.read(items, effective);
      return flow(finish(LEAF));
    }
    case 'Wait': {
      for (const field of ['SecondsPath', 'TimestampPath']) {
        const path = text(state, field);
        if (path !== undefined) reader.read(path, effective);
      }
      return flow(reader.select(state.OutputPath, effective));
    }
    case 'Choice': {
      for (const rule of choiceRules(state)) for (const path of ruleReads(rule)) reader.read(path, effective);
      const output = reader.select(state.OutputPath, effective);
      // The rule outputs re-read OutputPath: a second reader keeps those reads out of `missing`.
      const again = new Reader(context, []);
      const ruleOutputs = choiceRules(state).map((rule) => {
        const proved = presentAfter(rule).reduce((shape, path) => {
          const parsed = parsePath(path);
          if (parsed?.root !== '$') return shape;
          return withPath(shape, parsed.keys, lookup(shape, parsed.keys) ?? LEAF);
        }, effective);
        return again.select(state.OutputPath, proved);
      });
      return flow(output, { ruleOutputs });
    }
    case 'Succeed':
      return flow(reader.select(state.OutputPath, effective));
    case 'Fail':
      for (const field of ['ErrorPath', 'CausePath']) {
        const path = text(state, field);
        if (path !== undefined) reader.read(path, input);
      }
      return flow(undefined);
    default:
      return flow(undefined);
  }
}

export interface PathFacts {
  /** What each reachable state's input certainly holds. */
  readonly inputs: ReadonlyMap<string, Shape>;
  /** Per state, the JSONPaths it reads that may be missing at run time. */
  readonly missing: ReadonlyMap<string, readonly string[]>;
}

function catchOutput(input: Shape, catcher: Catcher): Shape {
  return placeResult(input, ERROR_OUTPUT, catcher.resultPath);
}

export function analyzePaths(graph: StateGraph, executionInput: Shape): PathFacts {
  const context = contextShape(executionInput);
  const inputs = new Map<string, Shape>();
  /** Per Parallel, per branch: the output of each state that ends the branch. */
  const ends = new Map<string, Map<number, Map<string, Shape>>>();
  const queue = new Set<string>();

  const join = (name: string | undefined, shape: Shape | undefined) => {
    if (name === undefined || shape === undefined || !graph.states.has(name)) return;
    const old = inputs.get(name);
    const next = old === undefined ? shape : intersect(old, shape);
    if (next !== old) {
      inputs.set(name, next);
      queue.add(name);
    }
  };
  const branchResults = (parallel: string) =>
    (graph.branchStarts.get(parallel) ?? []).map((_, i) => {
      const outputs = [...(ends.get(parallel)?.get(i)?.values() ?? [])];
      return outputs.length === 0 ? undefined : outputs.reduce(intersect);
    });

  join(graph.startAt, executionInput);
  // Shapes only shrink, and each is finite, so this ends; the bound only guards against a bug here.
  let budget = 1000 * (graph.states.size + 1);
  while (queue.size > 0) {
    if (--budget < 0) throw new Error('the path analysis did not settle');
    const name = queue.values().next().value as string;
    queue.delete(name);
    const located = graph.states.get(name)!;
    const input = inputs.get(name)!;
    const flow = flowOf(located.state, input, context, branchResults(name));
    // A Parallel's own Next (or End) carries its result; edgesOf gives only its branches.
    const own = located.state.Type === 'Parallel' ? successOf(located.state) : [];
    for (const edge of [...edgesOf(located, graph), ...own]) {
      if (edge.kind === 'next')
        join(edge.to, edge.rule === undefined ? flow.output : flow.ruleOutputs[edge.rule]);
      else if (edge.kind === 'branch') join(edge.to, flow.branchInput);
      else if (edge.kind === 'end' && located.scope && flow.output !== undefined) {
        const { parallel, branch } = located.scope;
        const perBranch = ends.get(parallel) ?? new Map<number, Map<string, Shape>>();
        ends.set(parallel, perBranch);
        const outputs = perBranch.get(branch) ?? new Map<string, Shape>();
        perBranch.set(branch, outputs);
        const old = outputs.get(name);
        const next = old === undefined ? flow.output : intersect(old, flow.output);
        if (next !== old) {
          outputs.set(name, next);
          queue.add(parallel);
        }
      }
    }
    for (const catcher of catchersOf(located.state)) join(catcher.next, catchOutput(input, catcher));
  }

  // A state the analysis never reached is assumed to know nothing: the prover may still find a path.
  const missing = new Map<string, readonly string[]>();
  for (const [name, located] of graph.states) {
    const flow = flowOf(located.state, inputs.get(name) ?? LEAF, context, branchResults(name));
    missing.set(name, [...new Set(flow.missing)]);
  }
  return { inputs, missing };
}

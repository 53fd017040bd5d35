// Repository and deployment variables: listing them (secured values never leave), setting and
// unsetting one (admin-only once admins are named, audited without the value), the deployment
// environments they may belong to, and the variables one step of a run receives.

import type { StepSpec } from '../statemachine/compiler/plan';
import type { RunRecord } from '../store/records';
import type { VariableRecord } from '../store/variables';
import type { SecuredValue } from '../supervisor/masking';
import type { Caller } from '../vocabulary/contract';
import type { CoreDeps } from './deps';
import { InvalidVariableError, NotAllowedError, NotFoundError } from './failures';
import { checkVariablesChange } from './policy';
import {
  applicableVariables,
  checkVariableName,
  checkVariableValue,
  describeScope,
  REPOSITORY_SCOPE,
  type ScopedVariable,
  scopeKey,
  scopeOfKey,
  type VariableScope,
} from './variable-rules';

type VariableDeps = Pick<CoreDeps, 'store' | 'vault' | 'clock'>;

/** A variable as the API, the CLI and the console show it: a secured one has no value. */
export interface VariableView {
  readonly name: string;
  /** Absent for a repository variable. */
  readonly deployment?: string;
  readonly secured: boolean;
  readonly value?: string;
  readonly updatedAt: number;
  readonly updatedBy: string;
}

function viewOf(record: VariableRecord): VariableView {
  const scope = scopeOfKey(record.scope);
  return {
    name: record.name,
    ...(scope.kind === 'deployment' ? { deployment: scope.environment } : {}),
    secured: record.secured,
    ...(!record.secured && record.value !== undefined ? { value: record.value } : {}),
    updatedAt: record.updatedAt,
    updatedBy: record.updatedBy,
  };
}

const scopeOf = (deployment: string | undefined): VariableScope =>
  deployment === undefined ? REPOSITORY_SCOPE : { kind: 'deployment', environment: deployment };

/** The repository's variables, or one deployment environment's; repository ones first. */
export async function listVariables(
  request: { readonly repository: string; readonly deployment?: string },
  deps: Pick<CoreDeps, 'store'>,
): Promise<VariableView[]> {
  const records = await deps.store.variables.list(request.repository);
  const wanted = request.deployment === undefined ? undefined : scopeKey(scopeOf(request.deployment));
  return records
    .filter((record) => wanted === undefined || record.scope === wanted)
    .sort((a, b) =>
      a.scope === b.scope
        ? a.name.localeCompare(b.name)
        : a.scope === 'repository'
          ? -1
          : a.scope.localeCompare(b.scope),
    )
    .map(viewOf);
}

export interface EnvironmentView {
  readonly name: string;
  /** How many deployment variables it has. */
  readonly variables: number;
}

/**
 * The deployment environments the repository's pipelines name (recorded whenever a pipeline file is
 * read to start a run, and by the local engine when it opens) and any that still hold variables.
 */
export async function listEnvironments(
  repository: string,
  deps: Pick<CoreDeps, 'store'>,
): Promise<EnvironmentView[]> {
  const [named, records] = await Promise.all([
    deps.store.variables.environments(repository),
    deps.store.variables.list(repository),
  ]);
  const counts = new Map<string, number>(named.map((name) => [name, 0]));
  for (const record of records) {
    const scope = scopeOfKey(record.scope);
    if (scope.kind === 'deployment') counts.set(scope.environment, (counts.get(scope.environment) ?? 0) + 1);
  }
  return [...counts]
    .map(([name, variables]) => ({ name, variables }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function recordEnvironments(
  repository: string,
  environments: readonly string[],
  deps: Pick<CoreDeps, 'store'>,
): Promise<void> {
  return deps.store.variables.addEnvironments(repository, environments);
}

interface ChangeRequest {
  readonly repository: string;
  readonly caller: Caller;
  readonly name: string;
  readonly deployment?: string;
}

/** Checks the caller may change variables and that a deployment environment is known. */
async function admitChange(request: ChangeRequest, deps: Pick<CoreDeps, 'store'>): Promise<VariableScope> {
  const settings = await deps.store.settings.get(request.repository);
  const permission = checkVariablesChange(request.caller, settings);
  if (!permission.ok) throw new NotAllowedError(permission.message);
  const scope = scopeOf(request.deployment);
  if (scope.kind === 'deployment') {
    const known = await listEnvironments(request.repository, deps);
    if (!known.some((environment) => environment.name === scope.environment)) {
      throw new InvalidVariableError(
        `Unknown deployment environment ${JSON.stringify(scope.environment)}: ${
          known.length
            ? `the pipelines name ${known.map((environment) => environment.name).join(', ')}`
            : 'no pipeline names a deployment environment yet'
        } (an environment is one a step's \`deployment:\` names)`,
      );
    }
  }
  return scope;
}

async function audit(
  request: ChangeRequest,
  operation: 'set' | 'unset',
  detail: { readonly secured: boolean },
  deps: Pick<CoreDeps, 'store' | 'clock'>,
): Promise<void> {
  await deps.store.audit.append({
    repository: request.repository,
    at: deps.clock.now(),
    by: request.caller.user,
    action: 'variables',
    detail: {
      operation,
      name: request.name,
      ...(request.deployment !== undefined ? { deployment: request.deployment } : {}),
      secured: detail.secured,
    },
  });
}

export async function setVariable(
  request: ChangeRequest & { readonly value: string; readonly secured: boolean },
  deps: VariableDeps,
): Promise<VariableView> {
  checkVariableName(request.name);
  checkVariableValue(request.name, request.value, request.secured);
  const scope = await admitChange(request, deps);
  const key = scopeKey(scope);
  const before = await deps.store.variables.get(request.repository, key, request.name);
  // The vault first: a record never points at a value that is not kept.
  const sealed = request.secured
    ? await deps.vault.put({ repository: request.repository, scope: key, name: request.name }, request.value)
    : undefined;
  const record: VariableRecord = {
    scope: key,
    name: request.name,
    secured: request.secured,
    ...(sealed === undefined ? { value: request.value } : { sealed }),
    updatedAt: deps.clock.now(),
    updatedBy: request.caller.user,
  };
  await deps.store.variables.put(request.repository, record);
  if (before?.sealed !== undefined && before.sealed !== sealed) await deps.vault.remove(before.sealed);
  await audit(request, 'set', { secured: request.secured }, deps);
  return viewOf(record);
}

export async function unsetVariable(request: ChangeRequest, deps: VariableDeps): Promise<VariableView> {
  checkVariableName(request.name);
  const scope = scopeOf(request.deployment);
  const settings = await deps.store.settings.get(request.repository);
  const permission = checkVariablesChange(request.caller, settings);
  if (!permission.ok) throw new NotAllowedError(permission.message);
  const removed = await deps.store.variables.delete(request.repository, scopeKey(scope), request.name);
  if (!removed) throw new NotFoundError(`There is no ${describeScope(scope)} ${request.name}`);
  if (removed.sealed !== undefined) await deps.vault.remove(removed.sealed);
  await audit(request, 'unset', { secured: removed.secured }, deps);
  return viewOf(removed);
}

/** What one step receives from the stored variables, after precedence. */
export interface StepStoredVariables {
  readonly plain: Readonly<Record<string, string>>;
  /** Secured ones by reference: the engine reveals them (locally) or ECS fetches them (AWS). */
  readonly secured: readonly { readonly name: string; readonly reference: string }[];
}

/**
 * The repository's stored variables, read once, and what each step of the run receives from them:
 * a run's start (its task definitions) asks for every step, and must not read them once per step.
 */
export async function storedVariablesOfRun(
  run: Pick<RunRecord, 'repository' | 'variables'>,
  deps: Pick<CoreDeps, 'store'>,
): Promise<(spec: Pick<StepSpec, 'environment'>) => StepStoredVariables> {
  const records = await deps.store.variables.list(run.repository);
  const stored: ScopedVariable<VariableRecord>[] = records.map((record) => ({
    name: record.name,
    scope: scopeOfKey(record.scope),
    secured: record.secured,
    value: record,
  }));
  return (spec) => {
    const chosen = applicableVariables(
      stored,
      spec.environment.BITBUCKET_DEPLOYMENT_ENVIRONMENT,
      run.variables,
    );
    const plain: Record<string, string> = {};
    const secured: { name: string; reference: string }[] = [];
    for (const { name, value: record } of chosen) {
      if (record.secured && record.sealed !== undefined) secured.push({ name, reference: record.sealed });
      else if (record.value !== undefined) plain[name] = record.value;
    }
    return { plain, secured };
  };
}

/** What one step receives from the stored variables (a step starting on its own). */
export async function storedVariablesFor(
  run: Pick<RunRecord, 'repository' | 'variables'>,
  spec: Pick<StepSpec, 'environment'>,
  deps: Pick<CoreDeps, 'store'>,
): Promise<StepStoredVariables> {
  return (await storedVariablesOfRun(run, deps))(spec);
}

/** A run's output variables for a later step: the secured ones unsealed, to be masked. */
export async function runOutputs(
  run: Pick<RunRecord, 'outputs' | 'securedOutputs'>,
  deps: Pick<CoreDeps, 'vault'>,
): Promise<{ readonly plain: Readonly<Record<string, string>>; readonly secured: readonly SecuredValue[] }> {
  const secured = await Promise.all(
    Object.entries(run.securedOutputs ?? {}).map(async ([name, sealed]) => ({
      name,
      value: await deps.vault.unseal(sealed),
    })),
  );
  return { plain: run.outputs, secured };
}

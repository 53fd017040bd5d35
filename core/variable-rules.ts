// Repository and deployment variables as Bitbucket defines them: which names and values are
// accepted, and which value a step sees when several kinds name the same variable. Pure.
//
// Names: "Names can only contain ASCII letters, digits and underscores; names are case-sensitive;
// names can't start with a digit" (support.atlassian.com/bitbucket-cloud/docs/variables-and-secrets/).
// Bitbucket's default variables (BITBUCKET_*, CI) are refused rather than overridden, and FINALE_ is
// Finale's own prefix, so no stored variable can change what Finale or the supervisor reads.

import { InvalidVariableError } from './failures';

export const VARIABLE_LIMITS = {
  /**
   * Bytes of one value (UTF-8). SSM Parameter Store's standard tier, where AWS keeps secured values,
   * holds 4 KB, which an SSH private key fits; a larger file belongs in an artifact or S3.
   */
  valueBytes: 4096,
  /**
   * Characters a secured value has at least: a shorter one would be masked wherever those characters
   * happen to appear in a log (every `1`, every `on`), hiding output while protecting nothing.
   */
  securedMinLength: 4,
} as const;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_PREFIXES = ['BITBUCKET_', 'FINALE_'] as const;
const RESERVED_NAMES = ['CI'] as const;

/** Where a variable applies: every step, or the steps that deploy to one environment. */
export type VariableScope =
  | { readonly kind: 'repository' }
  | { readonly kind: 'deployment'; readonly environment: string };

export const REPOSITORY_SCOPE: VariableScope = { kind: 'repository' };

export function scopeKey(scope: VariableScope): string {
  return scope.kind === 'repository' ? 'repository' : `deployment:${scope.environment}`;
}

export function scopeOfKey(key: string): VariableScope {
  return key.startsWith('deployment:')
    ? { kind: 'deployment', environment: key.slice('deployment:'.length) }
    : REPOSITORY_SCOPE;
}

export function describeScope(scope: VariableScope): string {
  return scope.kind === 'repository' ? 'repository variable' : `deployment variable of ${scope.environment}`;
}

/** Throws InvalidVariableError naming the variable when Bitbucket's rule or a reservation refuses it. */
export function checkVariableName(name: string): void {
  if (name === '') throw new InvalidVariableError('A variable needs a name');
  if (!NAME.test(name)) {
    const why = /^[0-9]/.test(name)
      ? 'it starts with a digit'
      : 'only ASCII letters, digits and underscores are allowed';
    throw new InvalidVariableError(`Invalid variable name ${JSON.stringify(name)}: ${why}`);
  }
  const prefix = RESERVED_PREFIXES.find((reserved) => name.startsWith(reserved));
  if (prefix || (RESERVED_NAMES as readonly string[]).includes(name)) {
    throw new InvalidVariableError(
      `Invalid variable name ${name}: ${prefix ? `names starting with ${prefix} are reserved` : `${name} is a default variable`} (${prefix === 'FINALE_' ? "Finale's own settings" : "Bitbucket's default variables cannot be overridden"})`,
    );
  }
}

export function checkVariableValue(name: string, value: string, secured: boolean): void {
  if (value === '') throw new InvalidVariableError(`Variable ${name} has an empty value`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > VARIABLE_LIMITS.valueBytes) {
    throw new InvalidVariableError(
      `Variable ${name} is ${bytes} bytes; a value holds at most ${VARIABLE_LIMITS.valueBytes} bytes`,
    );
  }
  if (value.includes('\0')) throw new InvalidVariableError(`Variable ${name} contains a NUL byte`);
  if (secured && [...value].length < VARIABLE_LIMITS.securedMinLength) {
    throw new InvalidVariableError(
      `Secured variable ${name} is shorter than ${VARIABLE_LIMITS.securedMinLength} characters: it could not be masked without hiding unrelated output`,
    );
  }
}

/** A stored variable as precedence sees it: where it applies and whether it is secured. */
export interface ScopedVariable<V> {
  readonly name: string;
  readonly scope: VariableScope;
  readonly secured: boolean;
  readonly value: V;
}

/**
 * The stored variables one step sees, one per name: deployment variables of the step's environment
 * override repository variables, and custom pipeline variables (`names`) override both, as in
 * Bitbucket. A name a custom variable takes is dropped here; the caller adds the custom and default
 * variables above these.
 */
export function applicableVariables<V>(
  stored: readonly ScopedVariable<V>[],
  environment: string | undefined,
  custom: Readonly<Record<string, unknown>>,
): ScopedVariable<V>[] {
  const chosen = new Map<string, ScopedVariable<V>>();
  for (const variable of stored) {
    if (variable.scope.kind === 'repository' && !chosen.has(variable.name))
      chosen.set(variable.name, variable);
  }
  for (const variable of stored) {
    if (variable.scope.kind === 'deployment' && variable.scope.environment === environment)
      chosen.set(variable.name, variable);
  }
  for (const name of Object.keys(custom)) chosen.delete(name);
  return [...chosen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The output variables whose value holds one of the secured values the step received. */
export function securedOutputNames(
  outputs: Readonly<Record<string, string>>,
  securedValues: readonly string[],
): string[] {
  return Object.entries(outputs)
    .filter(([, value]) => securedValues.some((secret) => secret !== '' && value.includes(secret)))
    .map(([name]) => name);
}

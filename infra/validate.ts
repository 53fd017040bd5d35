// Checks on the Finale construct's props, so a bad value fails `cdk synth` naming the prop and the value
// instead of failing a deployment half-way.

import { existsSync } from 'node:fs';
import { type Duration, Token } from 'aws-cdk-lib';
import { FinaleError } from '../vocabulary/errors';

export class FinalePropsError extends FinaleError {
  constructor(prop: string, value: unknown, expected: string) {
    super(`Finale: ${prop} ${expected} (got ${show(value)})`, { name: 'FinalePropsError', exitCode: 2 });
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value !== null && typeof value === 'object' && 'toHumanString' in value) {
    return (value as Duration).toHumanString();
  }
  return JSON.stringify(value) ?? String(value);
}

/** Names of run-time resources are built from it, so it must be literal and short. */
const RESOURCE_PREFIX = /^[A-Za-z][A-Za-z0-9-]{0,30}[A-Za-z0-9]$|^[A-Za-z]$/;

export function checkResourcePrefix(value: string): string {
  if (Token.isUnresolved(value) || !RESOURCE_PREFIX.test(value)) {
    throw new FinalePropsError(
      'resourcePrefix',
      value,
      'must be 1-32 letters, digits and inner hyphens, starting with a letter, and not a token',
    );
  }
  // Secured variables are SSM parameters under /<prefix>/variables/, and SSM refuses names that
  // start with aws or ssm: better at synth than at the first `finale variables set --secured`.
  if (/^(aws|ssm)/i.test(value)) {
    throw new FinalePropsError(
      'resourcePrefix',
      value,
      'must not start with "aws" or "ssm" (reserved by SSM)',
    );
  }
  return value;
}

export function checkInteger(prop: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FinalePropsError(prop, value, `must be a whole number from ${min} to ${max}`);
  }
  return value;
}

export function checkNumber(prop: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value <= min || value > max) {
    throw new FinalePropsError(prop, value, `must be more than ${min} and at most ${max}`);
  }
  return value;
}

/** Literal ids must look like ids; tokens (from other constructs) are taken as they are. */
export function checkId(prop: string, value: string, prefix: 'vpc' | 'subnet'): string {
  if (!Token.isUnresolved(value) && !new RegExp(`^${prefix}-[0-9a-f]{8,17}$`).test(value)) {
    throw new FinalePropsError(prop, value, `must be a ${prefix} id (${prefix}-0123abcd…)`);
  }
  return value;
}

export function checkWholeDays(prop: string, value: Duration): Duration {
  const days = value.toSeconds({ integral: false }) / 86_400;
  if (!Number.isInteger(days) || days < 1) {
    throw new FinalePropsError(prop, value, 'must be a whole number of days, at least 1');
  }
  return value;
}

export function checkFile(prop: string, path: string): string {
  if (!existsSync(path)) throw new FinalePropsError(prop, path, 'must be an existing file');
  return path;
}

// The repository's own pipelines (examples and compiler fixtures), compiled, for the verifier's tests.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { compile } from '../../../statemachine/compiler/index';
import type { Plan } from '../../../statemachine/compiler/plan';
import { parsePipelineFile } from '../../../statemachine/language/index';
import { formatCounterexample, type Verdict } from '../../../statemachine/verify/index';
import { FIXTURES } from '../compiler/support';

const EXAMPLES = join(import.meta.dirname, '../../../examples');

export const OWN_FILES: readonly string[] = [
  ...readdirSync(EXAMPLES).map((dir) => join(EXAMPLES, dir, 'bitbucket-pipelines.yml')),
  ...readdirSync(FIXTURES)
    .filter((name) => name.endsWith('.yml'))
    .map((name) => join(FIXTURES, name)),
];

/** Every pipeline of a file, compiled: `file` names the file relative to the repository. */
export function plansOf(path: string): { readonly name: string; readonly plan: Plan }[] {
  const read = parsePipelineFile(readFileSync(path, 'utf8'), path);
  if (!read.ok) throw new Error(`${path} is not valid`);
  return read.file.pipelines.map((pipeline) => ({
    name: `${path.split('/').slice(-2).join('/')}: ${pipeline.key}`,
    plan: compile({ file: read.file, pipeline }),
  }));
}

export const OWN_PLANS = OWN_FILES.flatMap(plansOf);

/** A verified verdict; otherwise the failure shows each violation with its counterexample. */
export function expectVerified(verdict: Verdict): void {
  const shown = verdict.violations.map((v) => `${v.property}: ${v.message}\n  ${formatCounterexample(v)}`);
  expect(shown).toEqual([]);
  expect(verdict.verified).toBe(true);
}

// Repository and deployment variables through the core, on the real embedded DynamoDB and the real
// local vault: what is stored, what is shown, who may change them, what the audit keeps, and what a
// step receives.
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  listEnvironments,
  listVariables,
  recordEnvironments,
  runOutputs,
  setVariable,
  storedVariablesFor,
  unsetVariable,
} from '../../core/repository-variables';
import { setSetting } from '../../core/settings';
import { taskEnded } from '../../core/task-hooks';
import type { FinaleError } from '../../vocabulary/errors';
import { alice, bob, planOf, useCoreHarness } from './fixtures';

const h = useCoreHarness();
const SECRET = 'npm_9f8e7d6c5b4a';
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: FinaleError) => e,
  );

/** Every item of one repository, as text: what a copy of the database would show. */
async function storedText(repository: string): Promise<string> {
  const out = await h.db.client.send(new ScanCommand({ TableName: h.db.tables.repositories }));
  return JSON.stringify(out.Items?.filter((item) => item.repository === repository));
}

const set = (
  repository: string,
  name: string,
  value: string,
  options: { secured?: boolean; deployment?: string; caller?: typeof alice } = {},
) =>
  setVariable(
    {
      repository,
      caller: options.caller ?? alice,
      name,
      value,
      secured: options.secured ?? false,
      ...(options.deployment ? { deployment: options.deployment } : {}),
    },
    h.deps,
  );

describe('repository and deployment variables', () => {
  it('stores a secured value only sealed, and never shows it again', async () => {
    const repository = h.repository();
    const shown = await set(repository, 'NPM_TOKEN', SECRET, { secured: true });
    expect(shown).toEqual({
      name: 'NPM_TOKEN',
      secured: true,
      updatedAt: h.clock.now(),
      updatedBy: alice.user,
    });
    await set(repository, 'DEBUG', 'on');
    expect(await listVariables({ repository }, h.deps)).toEqual([
      { name: 'DEBUG', secured: false, value: 'on', updatedAt: h.clock.now(), updatedBy: alice.user },
      { name: 'NPM_TOKEN', secured: true, updatedAt: h.clock.now(), updatedBy: alice.user },
    ]);
    const text = await storedText(repository);
    expect(text).not.toContain(SECRET);
    expect(text).toContain('sealed:v1:');
  });

  it('turning a secured variable plain leaves no sealed value behind, and the other way round', async () => {
    const repository = h.repository();
    await set(repository, 'KEY', SECRET, { secured: true });
    await set(repository, 'KEY', 'now-plain');
    expect(await storedText(repository)).not.toContain('sealed:v1:');
    await set(repository, 'KEY', SECRET, { secured: true });
    expect(await storedText(repository)).not.toContain('now-plain');
  });

  it('audits who changed which variable, never its value', async () => {
    const repository = h.repository();
    await set(repository, 'NPM_TOKEN', SECRET, { secured: true });
    // Entries of one millisecond have no order among them.
    h.clock.advance(1);
    await unsetVariable({ repository, caller: alice, name: 'NPM_TOKEN' }, h.deps);
    const audit = await h.deps.store.audit.list(repository);
    expect(audit.map((entry) => [entry.action, entry.by, entry.detail])).toEqual([
      ['variables', alice.user, { operation: 'unset', name: 'NPM_TOKEN', secured: true }],
      ['variables', alice.user, { operation: 'set', name: 'NPM_TOKEN', secured: true }],
    ]);
    expect(JSON.stringify(audit)).not.toContain(SECRET);
  });

  it('is admin-only once admins are named', async () => {
    const repository = h.repository();
    await setSetting({ repository, caller: alice, key: 'admins', value: 'alice' }, h.deps);
    const refused = await rejection(set(repository, 'X', 'value', { caller: bob }));
    expect(refused.message).toBe('Only admins may change variables (bob is not one). Admins: alice');
    expect(refused.exitCode).toBe(3);
    await set(repository, 'X', 'value');
    const unset = await rejection(unsetVariable({ repository, caller: bob, name: 'X' }, h.deps));
    expect(unset.exitCode).toBe(3);
    expect(await listVariables({ repository }, h.deps)).toHaveLength(1);
  });

  it('refuses bad input with a clear error and stores nothing', async () => {
    const repository = h.repository();
    await recordEnvironments(repository, ['production', 'staging'], h.deps);
    const cases: [Promise<unknown>, string][] = [
      [set(repository, '2FA', 'x'), 'Invalid variable name "2FA": it starts with a digit'],
      [set(repository, 'EMPTY', ''), 'Variable EMPTY has an empty value'],
      [
        set(repository, 'BIG', 'x'.repeat(4097)),
        'Variable BIG is 4097 bytes; a value holds at most 4096 bytes',
      ],
      [
        set(repository, 'API_URL', 'x', { deployment: 'prod' }),
        'Unknown deployment environment "prod": the pipelines name production, staging (an environment is one a step\'s `deployment:` names)',
      ],
    ];
    for (const [attempt, message] of cases) {
      const error = await rejection(attempt);
      expect(error.message).toBe(message);
      expect(error.exitCode).toBe(2);
    }
    expect(await listVariables({ repository }, h.deps)).toEqual([]);
    const missing = await rejection(unsetVariable({ repository, caller: alice, name: 'NOPE' }, h.deps));
    expect([missing.message, missing.exitCode]).toEqual(['There is no repository variable NOPE', 4]);
  });

  it('lists the environments the pipelines name and those that hold variables', async () => {
    const repository = h.repository();
    expect(await listEnvironments(repository, h.deps)).toEqual([]);
    expect((await rejection(set(repository, 'A', 'x', { deployment: 'staging' }))).message).toContain(
      'no pipeline names a deployment environment yet',
    );
    await recordEnvironments(repository, ['staging', 'production'], h.deps);
    await recordEnvironments(repository, ['staging', 'test'], h.deps);
    await set(repository, 'API_URL', 'https://staging', { deployment: 'staging' });
    expect(await listEnvironments(repository, h.deps)).toEqual([
      { name: 'production', variables: 0 },
      { name: 'staging', variables: 1 },
      { name: 'test', variables: 0 },
    ]);
    expect(await listVariables({ repository, deployment: 'production' }, h.deps)).toEqual([]);
    expect(
      (await listVariables({ repository, deployment: 'staging' }, h.deps)).map((v) => v.deployment),
    ).toEqual(['staging']);
  });

  it('gives a step its variables by precedence, secured ones by reference only', async () => {
    const repository = h.repository();
    await recordEnvironments(repository, ['staging'], h.deps);
    await set(repository, 'API_URL', 'https://repo');
    await set(repository, 'API_URL', 'https://staging', { deployment: 'staging' });
    await set(repository, 'TOKEN', SECRET, { secured: true });
    await set(repository, 'CUSTOM', 'stored');
    const run = { repository, variables: { CUSTOM: 'given' } };
    const deploying = await storedVariablesFor(
      run,
      { environment: { BITBUCKET_DEPLOYMENT_ENVIRONMENT: 'staging' } },
      h.deps,
    );
    expect(deploying.plain).toEqual({ API_URL: 'https://staging' });
    expect(deploying.secured.map((s) => s.name)).toEqual(['TOKEN']);
    expect(deploying.secured[0]!.reference).not.toContain(SECRET);
    expect(await h.deps.vault.reveal(deploying.secured[0]!.reference)).toBe(SECRET);
    const building = await storedVariablesFor(run, { environment: {} }, h.deps);
    expect(building.plain).toEqual({ API_URL: 'https://repo' });
  });
});

describe('secured output variables', () => {
  it('are sealed in the run record and unsealed for later steps', async () => {
    const repository = h.repository();
    const run = await h.newRun(planOf([{ outputVariables: ['URL', 'AUTH'] }]), { repository });
    await taskEnded(
      run.runId,
      0,
      { exitCode: 0, outputs: { URL: 'https://x', AUTH: `Bearer ${SECRET}` }, secured: ['AUTH'] },
      h.deps,
    );
    const stored = (await h.deps.store.runs.get(run.runId))!;
    expect(stored.outputs).toEqual({ URL: 'https://x' });
    expect(JSON.stringify(stored)).not.toContain(SECRET);
    expect(await runOutputs(stored, h.deps)).toEqual({
      plain: { URL: 'https://x' },
      secured: [{ name: 'AUTH', value: `Bearer ${SECRET}` }],
    });
  });
});

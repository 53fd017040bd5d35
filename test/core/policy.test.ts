import { describe, expect, it } from 'vitest';
import { checkSettingsChange, decideStop, isAdmin } from '../../core/policy';
import { DEFAULT_SETTINGS, type RunRecord, type SettingsRecord } from '../../store/records';
import type { RunStatus, StopMode, StopPolicy } from '../../vocabulary/contract';

const settings = (overrides: Partial<SettingsRecord> = {}): SettingsRecord => ({
  ...DEFAULT_SETTINGS,
  admins: ['root'],
  ...overrides,
});

const run = (overrides: Partial<RunRecord> = {}) => ({
  runId: 'r1',
  repository: 'acme/app',
  buildNumber: 7,
  status: 'RUNNING' as RunStatus,
  phase: 'main' as RunRecord['phase'],
  ...overrides,
});

const admin = { user: 'root' };
const dev = { user: 'dev' };

describe('decideStop: every policy cell', () => {
  const policies: StopPolicy[] = ['anyone', 'admins', 'nobody'];
  const modes: StopMode[] = ['graceful', 'drain', 'immediate'];
  const callers = [admin, dev];
  const phases = ['main', 'final'] as const;

  const cells = policies.flatMap((policy) =>
    callers.flatMap((caller) =>
      phases.flatMap((phase) => modes.map((mode) => ({ policy, caller, phase, mode }))),
    ),
  );

  it.each(cells)('$policy / $caller.user / phase $phase / $mode', ({ policy, caller, phase, mode }) => {
    const decision = decideStop({
      run: run({ phase }),
      settings: settings({ stopPolicy: policy }),
      caller,
      mode,
    });
    const isAdminCaller = caller === admin;
    const policyAllows = policy === 'anyone' || (policy === 'admins' && isAdminCaller);
    const phaseAllows = phase === 'main' || (mode === 'immediate' && isAdminCaller);
    if (!policyAllows) {
      expect(decision).toMatchObject({ ok: false, refusal: 'policy' });
      if (!decision.ok)
        expect(decision.message).toContain(policy === 'nobody' ? 'Nobody may stop' : 'Only admins');
      if (!decision.ok) expect(decision.message).toContain('root');
      return;
    }
    if (!phaseAllows) {
      expect(decision).toMatchObject({ ok: false, refusal: 'final' });
      if (!decision.ok) expect(decision.message).toContain("only an admin's immediate stop");
      return;
    }
    expect(decision).toEqual({
      ok: true,
      mode,
      status: mode === 'drain' ? 'DRAINING' : 'STOPPING',
      final: phase === 'final',
    });
  });
});

describe('decideStop: other rules', () => {
  it('turns graceful into immediate when graceful-stop is off, and keeps drain', () => {
    const off = settings({ gracefulStop: false });
    expect(decideStop({ run: run(), settings: off, caller: dev, mode: 'graceful' })).toMatchObject({
      ok: true,
      mode: 'immediate',
    });
    expect(decideStop({ run: run(), settings: off, caller: dev, mode: 'drain' })).toMatchObject({
      ok: true,
      mode: 'drain',
    });
  });

  it('refuses finished runs', () => {
    for (const status of ['SUCCESSFUL', 'FAILED', 'STOPPED', 'ERROR'] as const) {
      expect(
        decideStop({
          run: run({ status, phase: 'done' }),
          settings: settings(),
          caller: admin,
          mode: 'immediate',
        }),
      ).toMatchObject({
        ok: false,
        refusal: 'finished',
      });
    }
  });

  it('refuses a second stop unless it is more forceful', () => {
    const stopping = (mode: StopMode, status: RunStatus = 'STOPPING') =>
      run({ status, stop: { by: 'dev', mode, at: 1 } });
    const again = (current: RunRecord['stop'] & object, status: RunStatus, mode: StopMode) =>
      decideStop({ run: stopping(current.mode, status), settings: settings(), caller: dev, mode });
    const graceful = { by: 'dev', mode: 'graceful' as const, at: 1 };
    const drain = { by: 'dev', mode: 'drain' as const, at: 1 };
    const immediate = { by: 'dev', mode: 'immediate' as const, at: 1 };
    expect(again(graceful, 'STOPPING', 'graceful')).toMatchObject({ ok: false, refusal: 'already' });
    expect(again(graceful, 'STOPPING', 'drain')).toMatchObject({ ok: false, refusal: 'already' });
    expect(again(graceful, 'STOPPING', 'immediate')).toMatchObject({
      ok: true,
      mode: 'immediate',
      status: 'STOPPING',
    });
    expect(again(immediate, 'STOPPING', 'immediate')).toMatchObject({ ok: false, refusal: 'already' });
    expect(again(drain, 'DRAINING', 'immediate')).toMatchObject({ ok: true, status: 'STOPPING' });
    expect(again(drain, 'DRAINING', 'drain')).toMatchObject({ ok: false, refusal: 'already' });
  });

  it('still applies the policy to an escalation', () => {
    const decision = decideStop({
      run: run({ status: 'STOPPING', stop: { by: 'root', mode: 'graceful', at: 1 } }),
      settings: settings({ stopPolicy: 'admins' }),
      caller: dev,
      mode: 'immediate',
    });
    expect(decision).toMatchObject({ ok: false, refusal: 'policy' });
  });

  it('refuses a second stop of the final step', () => {
    const decision = decideStop({
      run: run({
        phase: 'final',
        status: 'STOPPING',
        stop: { by: 'root', mode: 'immediate', at: 1, final: true },
      }),
      settings: settings(),
      caller: admin,
      mode: 'immediate',
    });
    expect(decision).toMatchObject({ ok: false, refusal: 'already' });
  });

  it('treats everyone as an admin until admins are named', () => {
    const none = settings({ admins: [], stopPolicy: 'admins' });
    expect(isAdmin(dev, none)).toBe(true);
    expect(
      decideStop({ run: run({ phase: 'final' }), settings: none, caller: dev, mode: 'immediate' }),
    ).toMatchObject({ ok: true });
    expect(checkSettingsChange(dev, none)).toEqual({ ok: true });
    expect(checkSettingsChange(dev, settings())).toMatchObject({ ok: false });
    expect(checkSettingsChange(admin, settings())).toEqual({ ok: true });
  });
});

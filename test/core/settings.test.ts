import { describe, expect, it } from 'vitest';
import { getSettings, SETTING_KEYS, setSetting, settingsView } from '../../core/settings';
import { DEFAULT_SETTINGS } from '../../store/records';
import type { FinaleError } from '../../vocabulary/errors';
import { alice, bob, useCoreHarness } from './fixtures';

const h = useCoreHarness();
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: FinaleError) => e,
  );
const set = (repository: string, key: string, value: unknown, caller = alice) =>
  setSetting({ repository, caller, key, value }, h.deps);

describe('settings', () => {
  it('shows defaults under the names users type', async () => {
    const repository = h.repository();
    expect(await getSettings(repository, h.deps)).toEqual(DEFAULT_SETTINGS);
    expect(settingsView(DEFAULT_SETTINGS)).toEqual({
      'graceful-stop': 'on',
      'stop-timeout': '30',
      'stop-signal': 'TERM',
      'stop-policy': 'anyone',
      admins: '',
    });
    expect(SETTING_KEYS).toEqual(['graceful-stop', 'stop-timeout', 'stop-signal', 'stop-policy', 'admins']);
  });

  it.each([
    ['graceful-stop', 'off', { gracefulStop: false }, 'off'],
    ['graceful-stop', 'on', { gracefulStop: true }, 'on'],
    ['stop-timeout', '1', { stopTimeout: 1 }, '1'],
    ['stop-timeout', 3600, { stopTimeout: 3600 }, '3600'],
    ['stop-signal', 'SIGINT', { stopSignal: 'INT' }, 'INT'],
    ['stop-signal', 'term', { stopSignal: 'TERM' }, 'TERM'],
    ['stop-policy', 'nobody', { stopPolicy: 'nobody' }, 'nobody'],
    ['admins', ' alice, bob ,alice', { admins: ['alice', 'bob'] }, 'alice,bob'],
  ])('sets %s to %j', async (key, value, expected, shown) => {
    const repository = h.repository();
    const result = await set(repository, key, value);
    expect(result.settings).toMatchObject(expected);
    expect(result.to).toBe(shown);
    expect(await getSettings(repository, h.deps)).toMatchObject(expected);
  });

  it.each([
    ['graceful-stop', 'maybe', /graceful-stop: "maybe" \(expected on or off\)/],
    ['stop-timeout', '0', /stop-timeout: "0" \(expected a whole number of seconds from 1 to 3600\)/],
    ['stop-timeout', '3601', /stop-timeout/],
    ['stop-timeout', '2.5', /stop-timeout/],
    ['stop-signal', 'KILL', /stop-signal: "KILL" \(expected TERM or INT\)/],
    ['stop-policy', 'everyone', /stop-policy: "everyone" \(expected anyone, admins or nobody\)/],
    ['colour', 'blue', /Unknown setting "colour" \(known: graceful-stop, stop-timeout/],
  ])('rejects %s = %j with exit code 2, naming the setting', async (key, value, message) => {
    const repository = h.repository();
    const error = await rejection(set(repository, key, value));
    expect(error).toMatchObject({ name: 'InvalidSetting', exitCode: 2 });
    expect(error?.message).toMatch(message);
    expect(await getSettings(repository, h.deps)).toEqual(DEFAULT_SETTINGS);
  });

  it('lets anyone change settings until admins are named, then only admins; every change audited', async () => {
    const repository = h.repository();
    await set(repository, 'stop-timeout', '90', bob);
    h.clock.advance(1);
    await set(repository, 'admins', 'alice', alice);
    h.clock.advance(1);
    const refused = await rejection(set(repository, 'stop-policy', 'admins', bob));
    expect(refused).toMatchObject({ name: 'NotAllowed', exitCode: 3 });
    expect(refused?.message).toContain('Admins: alice');
    await set(repository, 'stop-policy', 'admins', alice);
    const audit = await h.db.store.audit.list(repository);
    expect(audit.map((entry) => [entry.action, entry.by, entry.detail])).toEqual([
      ['settings', 'alice', { key: 'stop-policy', from: 'anyone', to: 'admins' }],
      ['settings', 'alice', { key: 'admins', from: '', to: 'alice' }],
      ['settings', 'bob', { key: 'stop-timeout', from: '30', to: '90' }],
    ]);
  });

  it('refuses an admins list that would lock the caller out', async () => {
    const repository = h.repository();
    const error = await rejection(set(repository, 'admins', 'bob', alice));
    expect(error).toMatchObject({ exitCode: 2 });
    expect(error?.message).toContain('admins must include you (alice)');
    // Clearing the list is allowed: everyone is an admin again.
    await set(repository, 'admins', 'alice');
    expect((await set(repository, 'admins', '')).settings.admins).toEqual([]);
  });
});

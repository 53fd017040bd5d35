// Repository settings as users name them (`graceful-stop`, `stop-timeout`, …): reading, and setting
// one key with validation, admin-only once admins are named, audited.

import type { SettingsRecord } from '../store/records';
import type { Caller } from '../vocabulary/contract';
import type { CoreDeps } from './deps';
import { InvalidSettingError, NotAllowedError } from './failures';
import { checkSettingsChange } from './policy';

interface SettingDefinition<F extends keyof SettingsRecord> {
  readonly field: F;
  readonly help: string;
  parse(value: unknown): SettingsRecord[F];
  show(value: SettingsRecord[F]): string;
}

function definition<F extends keyof SettingsRecord>(d: SettingDefinition<F>): SettingDefinition<F> {
  return d;
}

const invalid = (key: string, value: unknown, expected: string): never => {
  throw new InvalidSettingError(`Invalid value for ${key}: ${JSON.stringify(value)} (expected ${expected})`);
};

const SETTINGS = {
  'graceful-stop': definition({
    field: 'gracefulStop',
    help: 'on: a stop sends one signal, waits stop-timeout, then kills; off: a stop kills at once',
    parse(value) {
      if (value === true || value === 'on' || value === 'true') return true;
      if (value === false || value === 'off' || value === 'false') return false;
      return invalid('graceful-stop', value, 'on or off');
    },
    show: (value) => (value ? 'on' : 'off'),
  }),
  'stop-timeout': definition({
    field: 'stopTimeout',
    help: 'seconds between the stop signal and the kill (1-3600)',
    parse(value) {
      const seconds =
        typeof value === 'number'
          ? value
          : typeof value === 'string' && /^\d+$/.test(value.trim())
            ? Number(value)
            : Number.NaN;
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) {
        return invalid('stop-timeout', value, 'a whole number of seconds from 1 to 3600');
      }
      return seconds;
    },
    show: (value) => String(value),
  }),
  'stop-signal': definition({
    field: 'stopSignal',
    help: 'the one signal a graceful stop sends: TERM or INT',
    parse(value) {
      const signal = typeof value === 'string' ? value.trim().toUpperCase().replace(/^SIG/, '') : value;
      if (signal === 'TERM' || signal === 'INT') return signal;
      return invalid('stop-signal', value, 'TERM or INT');
    },
    show: (value) => value,
  }),
  'stop-policy': definition({
    field: 'stopPolicy',
    help: 'who may stop runs: anyone, admins or nobody',
    parse(value) {
      if (value === 'anyone' || value === 'admins' || value === 'nobody') return value;
      return invalid('stop-policy', value, 'anyone, admins or nobody');
    },
    show: (value) => value,
  }),
  admins: definition({
    field: 'admins',
    help: 'comma-separated user names; until some are named, everyone is an admin',
    parse(value) {
      const list = Array.isArray(value)
        ? value
        : typeof value === 'string'
          ? value.split(',')
          : invalid('admins', value, 'a list of user names');
      const names = list.map((name) =>
        typeof name === 'string' ? name.trim() : invalid('admins', value, 'user names'),
      );
      return [...new Set(names.filter((name) => name !== ''))];
    },
    show: (value) => value.join(','),
  }),
} as const;

type SettingKey = keyof typeof SETTINGS;
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** Settings under their user-facing names, values as text. */
export function settingsView(settings: SettingsRecord): Record<SettingKey, string> {
  return Object.fromEntries(
    SETTING_KEYS.map((key) => {
      const d = SETTINGS[key] as SettingDefinition<keyof SettingsRecord>;
      return [key, d.show(settings[d.field])];
    }),
  ) as Record<SettingKey, string>;
}

export function getSettings(repository: string, deps: Pick<CoreDeps, 'store'>): Promise<SettingsRecord> {
  return deps.store.settings.get(repository);
}

interface SetSettingRequest {
  readonly repository: string;
  readonly caller: Caller;
  readonly key: string;
  readonly value: unknown;
}

export async function setSetting(
  request: SetSettingRequest,
  deps: Pick<CoreDeps, 'store' | 'clock'>,
): Promise<{ readonly settings: SettingsRecord; readonly from: string; readonly to: string }> {
  const { repository, caller, key } = request;
  if (!Object.hasOwn(SETTINGS, key)) {
    throw new InvalidSettingError(
      `Unknown setting ${JSON.stringify(key)} (known: ${SETTING_KEYS.join(', ')})`,
    );
  }
  const d = SETTINGS[key as SettingKey] as SettingDefinition<keyof SettingsRecord>;
  const value = d.parse(request.value);
  const current = await deps.store.settings.get(repository);
  const permission = checkSettingsChange(caller, current);
  if (!permission.ok) throw new NotAllowedError(permission.message);
  if (d.field === 'admins') {
    const admins = value as string[];
    if (admins.length > 0 && !admins.includes(caller.user)) {
      throw new InvalidSettingError(
        `admins must include you (${caller.user}); otherwise you could no longer change settings yourself`,
      );
    }
  }
  const settings = await deps.store.settings.update(repository, { [d.field]: value });
  const from = d.show(current[d.field]);
  const to = d.show(settings[d.field]);
  await deps.store.audit.append({
    repository,
    at: deps.clock.now(),
    by: caller.user,
    action: 'settings',
    detail: { key, from, to },
  });
  return { settings, from, to };
}

// Who may do what: the stop policy and the settings permission, in one place. Pure functions over
// the run, the repository's settings and the caller.

import type { RunRecord, SettingsRecord } from '../store/records';
import { type Caller, type RunStatus, type StopMode, TERMINAL_RUN_STATUSES } from '../vocabulary/contract';

/** Until a repository names admins, everyone is one (a fresh install must be configurable). */
export function isAdmin(caller: Caller, settings: SettingsRecord): boolean {
  return settings.admins.length === 0 || settings.admins.includes(caller.user);
}

function adminsText(settings: SettingsRecord): string {
  return settings.admins.length ? settings.admins.join(', ') : '(none named: everyone)';
}

/** How forceful each mode is: a second stop must be more forceful than the one in progress. */
const FORCE: Record<StopMode, number> = { drain: 0, graceful: 1, immediate: 2 };

type StopDecision =
  | {
      readonly ok: true;
      /** The mode that applies: graceful becomes immediate when graceful-stop is off. */
      readonly mode: StopMode;
      readonly status: Extract<RunStatus, 'STOPPING' | 'DRAINING'>;
      /** An admin's immediate stop during phase final: it ends the final step too. */
      readonly final: boolean;
    }
  | {
      readonly ok: false;
      /** finished → exit 4; the others are refusals → exit 3. */
      readonly refusal: 'finished' | 'policy' | 'final' | 'already';
      readonly message: string;
    };

interface StopRequest {
  readonly run: Pick<RunRecord, 'runId' | 'repository' | 'buildNumber' | 'status' | 'phase' | 'stop'>;
  readonly settings: SettingsRecord;
  readonly caller: Caller;
  readonly mode: StopMode;
}

export function decideStop({ run, settings, caller, mode: requested }: StopRequest): StopDecision {
  const name = `Run #${run.buildNumber} of ${run.repository}`;
  if (run.phase === 'done' || TERMINAL_RUN_STATUSES.includes(run.status)) {
    return { ok: false, refusal: 'finished', message: `${name} has already finished (${run.status})` };
  }
  const admin = isAdmin(caller, settings);
  if (settings.stopPolicy === 'nobody') {
    return {
      ok: false,
      refusal: 'policy',
      message: `Nobody may stop runs of ${run.repository} (stop-policy is "nobody"); an admin can change it with \`finale settings set stop-policy anyone|admins\`. Admins: ${adminsText(settings)}`,
    };
  }
  if (settings.stopPolicy === 'admins' && !admin) {
    return {
      ok: false,
      refusal: 'policy',
      message: `Only admins may stop runs of ${run.repository} (stop-policy is "admins"), and ${caller.user} is not one. Admins: ${adminsText(settings)}`,
    };
  }
  const mode: StopMode = requested === 'graceful' && !settings.gracefulStop ? 'immediate' : requested;
  if (run.phase === 'final') {
    // The final step is cleanup (release the Terraform lock, notify): only a deliberate kill ends it.
    if (requested !== 'immediate' || !admin) {
      return {
        ok: false,
        refusal: 'final',
        message: `${name} is running its final step, which a stop does not end; only an admin's immediate stop does. Admins: ${adminsText(settings)}`,
      };
    }
    if (run.stop?.final) {
      return {
        ok: false,
        refusal: 'already',
        message: `${name}'s final step is already being stopped by ${run.stop.by}`,
      };
    }
    return { ok: true, mode: 'immediate', status: 'STOPPING', final: true };
  }
  if ((run.status === 'STOPPING' || run.status === 'DRAINING') && run.stop) {
    if (FORCE[mode] <= FORCE[run.stop.mode]) {
      return {
        ok: false,
        refusal: 'already',
        message: `${name} is already being stopped (${run.stop.mode}, by ${run.stop.by}); only a more forceful stop (immediate) goes further`,
      };
    }
  }
  return { ok: true, mode, status: mode === 'drain' ? 'DRAINING' : 'STOPPING', final: false };
}

/** An act reserved to admins (anyone, until admins are named); the refusal names them. */
function adminOnly(
  act: string,
  caller: Caller,
  settings: SettingsRecord,
): { ok: true } | { ok: false; message: string } {
  if (isAdmin(caller, settings)) return { ok: true };
  return {
    ok: false,
    message: `Only admins may ${act} (${caller.user} is not one). Admins: ${adminsText(settings)}`,
  };
}

/** Settings may be changed by anyone until admins are named, then only by them. */
export const checkSettingsChange = (caller: Caller, settings: SettingsRecord) =>
  adminOnly('change settings', caller, settings);

/** Force-unlocking a lock is an admin's act. */
export const checkForceUnlock = (caller: Caller, settings: SettingsRecord) =>
  adminOnly('force-unlock a lock', caller, settings);

/** Variables, like settings, are admins' once admins are named. */
export const checkVariablesChange = (caller: Caller, settings: SettingsRecord) =>
  adminOnly('change variables', caller, settings);

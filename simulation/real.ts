// The share of schedules that runs real processes: each step's behaviour as a real script under the
// real supervisor — a shell that traps the stop signal or dies of it, children of that shell that
// clean up or ignore it — so the model in world.ts is never all that is tested. Marker files say
// what really ran: `<build>-<step>` gets `start N` (attempt N) and `end` when the script completes.

import { shellQuote } from '../supervisor/render';
import type { Behaviour, StepPlan } from './scenario';

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** A file name for a step's markers, from its name. */
export function markerName(step: string): string {
  return step.replaceAll(/[^A-Za-z0-9]/g, '_');
}

/** The script items and after-script of a step that behaves as `behaviour` says, for real. */
export function realScript(plan: StepPlan): { script: string[]; afterScript?: string[] } {
  const b: Behaviour = plan.behaviour;
  const file = `"$MARKERS/$BITBUCKET_BUILD_NUMBER-${markerName(plan.name)}"`;
  const children = b.children.map((child) => {
    const body = child.ignores
      ? `trap "" TERM; sleep 30`
      : `trap "sleep ${seconds(child.cleanupMs)}; exit 0" TERM; sleep 30 & wait $!`;
    return `sh -c ${shellQuote(body)} &`;
  });
  const codes = b.exitCodes.join(' ');
  return {
    script: [
      `attempt=$(( $(grep -c start ${file} 2>/dev/null || true) + 1 ))`,
      `echo "start $attempt" >> ${file}`,
      ...(b.shellTraps ? [`trap 'sleep ${seconds(b.shellCleanupMs)}; exit 143' TERM`] : []),
      ...children,
      `sleep ${seconds(b.durationMs)} & wait $!`,
      // The exit code of this attempt (the last one repeats).
      `set -- ${codes}; while [ "$attempt" -gt 1 ] && [ "$#" -gt 1 ]; do shift; attempt=$((attempt - 1)); done; code=$1`,
      `echo end >> ${file}`,
      'exit "$code"',
    ],
    ...(b.afterMs !== undefined ? { afterScript: [`sleep ${seconds(b.afterMs)}`] } : {}),
  };
}

// Counterexamples as text: `Start → Start run → Begin: Build --[States.ALL]--> Finalize → …`.

import type { PathStep, Violation } from './prove';

function formatPath(path: readonly PathStep[], uncaught?: string): string {
  const text = path
    .map((step, i) => {
      if (i === 0) return step.state;
      return step.via === undefined || step.via === 'Next'
        ? ` → ${step.state}`
        : ` --[${step.via}]--> ${step.state}`;
    })
    .join('');
  return uncaught === undefined ? text : `${text} --[${uncaught}]--> ✗ (the execution fails)`;
}

export const formatCounterexample = (violation: Violation): string =>
  formatPath(violation.path, violation.uncaught);

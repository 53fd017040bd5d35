// The final-step rules from Bitbucket's announcement of `final:`.
import type { Step } from '../model';
import type { Rule } from './context';

export const finalPlacement: Rule = (pipeline, { sink }) => {
  const finals = pipeline.items.filter((item): item is Step => item.kind === 'final');
  finals.slice(1).forEach((extra) => {
    sink.error(extra.at, 'final-multiple', 'a pipeline has at most one `final` step; this is the second');
  });
  const first = finals[0];
  if (!first) return;
  const last = pipeline.items[pipeline.items.length - 1];
  if (finals.length === 1 && last !== first) {
    sink.error(first.at, 'final-not-last', 'the `final` step must be the last entry of the pipeline');
  }
  if (pipeline.items.every((item) => item.kind === 'final')) {
    sink.error(first.at, 'final-only', 'a pipeline needs at least one step besides `final`');
  }
};

export const finalNotGrouped: Rule = (pipeline, { sink }) => {
  for (const item of pipeline.items) {
    if (item.kind !== 'parallel' && item.kind !== 'stage') continue;
    for (const step of item.steps) {
      if (step.kind !== 'final') continue;
      sink.error(
        step.at,
        item.kind === 'parallel' ? 'final-in-parallel' : 'final-in-stage',
        `\`final\` cannot be inside a ${item.kind}; make it the last entry of the pipeline`,
      );
    }
  }
};

export const finalRestrictions: Rule = (pipeline, { sink, keyAt }) => {
  for (const item of pipeline.items) {
    if (item.kind !== 'final') continue;
    if (item.trigger === 'manual') {
      sink.error(
        keyAt(item, 'trigger'),
        'final-manual',
        'the `final` step cannot be manual (`trigger: manual`)',
      );
    }
    if (item.deployment !== undefined) {
      sink.error(
        keyAt(item, 'deployment'),
        'final-deployment',
        'the `final` step cannot have a `deployment`',
      );
    }
    if (item.failFast !== undefined) {
      sink.error(keyAt(item, 'fail-fast'), 'final-fail-fast', 'the `final` step cannot have `fail-fast`');
    }
    if (item.child !== undefined) {
      sink.error(
        keyAt(item, 'type'),
        'final-child-pipeline',
        'the `final` step cannot start a child pipeline',
      );
    }
  }
};

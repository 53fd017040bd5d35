// Rules over the steps of one pipeline.
import { BITBUCKET } from '../limits';
import { stepsOf } from '../model';
import type { Rule } from './context';
import { label } from './context';

export const firstStepNotManual: Rule = (pipeline, { sink, keyAt }) => {
  const first = pipeline.items[0];
  if (!first) return;
  if (first.kind === 'stage' && first.trigger === 'manual') {
    sink.error(
      keyAt(first, 'trigger'),
      'first-step-manual',
      'the first stage of a pipeline cannot be manual',
    );
    return;
  }
  const steps =
    first.kind === 'parallel' ? first.steps : first.kind === 'stage' ? first.steps.slice(0, 1) : [first];
  // A manual `final` is reported by its own rule.
  for (const step of steps) {
    if (step.trigger === 'manual' && step.kind !== 'final') {
      sink.error(
        keyAt(step, 'trigger'),
        'first-step-manual',
        'the first step of a pipeline cannot be manual',
      );
    }
  }
};

export const stepLimit: Rule = (pipeline, { sink }) => {
  const count = stepsOf(pipeline.items).length;
  if (count > BITBUCKET.maxSteps) {
    sink.error(
      pipeline.at,
      'too-many-steps',
      `${label(pipeline)} has ${count} steps; Bitbucket allows at most ${BITBUCKET.maxSteps} (each parallel step counts)`,
    );
  }
};

export const stageSteps: Rule = (pipeline, { sink, keyAt }) => {
  for (const item of pipeline.items) {
    if (item.kind !== 'stage') continue;
    for (const step of item.steps) {
      if (step.condition) {
        sink.error(
          keyAt(step, 'condition'),
          'stage-step-condition',
          'a step inside a stage cannot have a `condition`; put it on the stage',
        );
      }
      if (item.deployment !== undefined && step.deployment !== undefined) {
        sink.error(
          keyAt(step, 'deployment'),
          'stage-step-deployment',
          `this stage deploys to \`${item.deployment}\`; its steps cannot set their own \`deployment\``,
        );
      }
    }
  }
};

const predefinedServices: readonly string[] = BITBUCKET.predefinedServices;
const predefinedCaches: readonly string[] = BITBUCKET.predefinedCaches;

export const references: Rule = (pipeline, context) => {
  const { sink, keyAt, itemAt } = context;
  const source = pipeline.importFrom?.split('@')[1];
  if (source !== undefined && !context.importSources.has(source)) {
    const known = [...context.importSources];
    sink.error(
      pipeline.at,
      'import-source-unknown',
      `the import source \`${source}\` is not declared under \`definitions.imports\`${known.length ? ` (declared: ${known.join(', ')})` : ''}`,
    );
  }
  for (const step of stepsOf(pipeline.items)) {
    step.services.forEach((service, index) => {
      if (context.definedServices.has(service) || predefinedServices.includes(service)) return;
      sink.error(
        itemAt(step, 'services', index),
        'undefined-service',
        `the service \`${service}\` is not defined under \`definitions.services\``,
      );
    });
    step.caches.forEach((cache, index) => {
      if (context.definedCaches.has(cache) || predefinedCaches.includes(cache)) return;
      sink.warning(
        itemAt(step, 'caches', index),
        'undefined-cache',
        `the cache \`${cache}\` is neither predefined nor defined under \`definitions.caches\`; Finale ignores it`,
      );
    });
    if (step.child && !context.customPipelines.has(step.child.custom)) {
      sink.error(
        keyAt(step, 'custom'),
        'child-pipeline-unknown',
        `there is no custom pipeline \`${step.child.custom}\` for this child pipeline step to start`,
      );
    }
  }
};

/**
 * One deployment environment, one place in a pipeline: Bitbucket refuses a pipeline in which an
 * environment "occurs multiple times" (BCLOUD-18931: "The deployment environment 'production' in your
 * bitbucket-pipelines.yml file occurs multiple times in the pipeline"), parallel steps included —
 * two deployments to one environment would overlap. Steps that deploy together form a deployment
 * stage, which holds the environment for all of them.
 */
export const deploymentOnce: Rule = (pipeline, { sink, keyAt }) => {
  const first = new Map<string, { readonly line: number; readonly column: number }>();
  const places = pipeline.items.flatMap((item) =>
    item.kind === 'stage' && item.deployment !== undefined
      ? [{ owner: item as { readonly at: typeof item.at }, environment: item.deployment }]
      : (item.kind === 'parallel' || item.kind === 'stage' ? item.steps : [item]).flatMap((step) =>
          step.deployment === undefined ? [] : [{ owner: step, environment: step.deployment }],
        ),
  );
  for (const { owner, environment } of places) {
    const at = keyAt(owner, 'deployment');
    const earlier = first.get(environment);
    if (!earlier) {
      first.set(environment, at);
      continue;
    }
    sink.error(
      at,
      'duplicate-deployment',
      `the deployment environment \`${environment}\` occurs more than once in ${label(pipeline)} (also at line ${earlier.line}, column ${earlier.column}); Bitbucket refuses that, as two deployments to one environment would overlap: put the steps that deploy together in one \`stage\` with \`deployment: ${environment}\``,
    );
  }
};

/**
 * A concurrency group lets one step run at a time; two steps of one parallel group in the same group
 * would have to wait for each other while running side by side, so the pipeline is refused (Finale's
 * rule: Bitbucket documents no such combination).
 */
export const concurrencyInParallel: Rule = (pipeline, { sink, keyAt }) => {
  for (const item of pipeline.items) {
    if (item.kind !== 'parallel') continue;
    const seen = new Map<string, { readonly line: number; readonly column: number }>();
    for (const step of item.steps) {
      if (step.concurrencyGroup === undefined) continue;
      const at = keyAt(step, 'concurrency-group');
      const earlier = seen.get(step.concurrencyGroup);
      if (!earlier) {
        seen.set(step.concurrencyGroup, at);
        continue;
      }
      sink.error(
        at,
        'parallel-concurrency-group',
        `two steps of this parallel group are in the concurrency group \`${step.concurrencyGroup}\` (also at line ${earlier.line}, column ${earlier.column}); a concurrency group runs one step at a time, so they cannot run side by side: move one out of the group, or give it another concurrency group`,
      );
    }
  }
};

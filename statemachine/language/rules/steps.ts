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
  for (const step of steps) {
    if (step.trigger === 'manual') {
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

export const references: Rule = (
  pipeline,
  { sink, keyAt, definedServices, definedCaches, customPipelines },
) => {
  for (const step of stepsOf(pipeline.items)) {
    for (const service of step.services) {
      if (
        !definedServices.has(service) &&
        !(BITBUCKET.predefinedServices as readonly string[]).includes(service)
      ) {
        sink.error(
          keyAt(step, 'services'),
          'undefined-service',
          `the service \`${service}\` is not defined under \`definitions.services\``,
        );
      }
    }
    for (const cache of step.caches) {
      if (!definedCaches.has(cache) && !(BITBUCKET.predefinedCaches as readonly string[]).includes(cache)) {
        sink.warning(
          keyAt(step, 'caches'),
          'undefined-cache',
          `the cache \`${cache}\` is neither predefined nor defined under \`definitions.caches\`; Finale ignores it`,
        );
      }
    }
    if (step.child && !customPipelines.has(step.child.custom)) {
      sink.error(
        keyAt(step, 'custom'),
        'child-pipeline-unknown',
        `there is no custom pipeline \`${step.child.custom}\` for this child pipeline step to start`,
      );
    }
  }
};

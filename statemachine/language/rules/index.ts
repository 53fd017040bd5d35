import type { Rule } from './context';
import { finalNotGrouped, finalPlacement, finalRestrictions } from './final';
import {
  concurrencyInParallel,
  deploymentOnce,
  firstStepNotManual,
  references,
  stageSteps,
  stepLimit,
} from './steps';
import { customVariables } from './variables';

export type { RuleContext } from './context';

/** Every rule that looks across several keys of a pipeline, in the order they report. */
export const RULES: readonly Rule[] = [
  finalPlacement,
  finalNotGrouped,
  finalRestrictions,
  firstStepNotManual,
  stepLimit,
  stageSteps,
  deploymentOnce,
  concurrencyInParallel,
  references,
  customVariables,
];

export { type CompileInput, compile, FINAL_STEP_PREFIX, RUN_STATES } from './compile';
export { renderGraph } from './graph';
export { CompileError, LIMITS } from './limits';
export type { ExecutionInput, LockSpec, Plan, PlanStats, StepSpec, StopSettings } from './plan';
export { RESOURCES, TASK_CONTAINERS, TASK_ENV } from './plan';

export { type CompileInput, compile, FINAL_STEP_PREFIX, RUN_STATES } from './compile';
export { renderGraph } from './graph';
export { CompileError, LIMITS } from './limits';

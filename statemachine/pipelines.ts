// What starting a run needs of the pipeline language and the compiler, as one value the adapters that
// start runs (the webhook, the API, the local engine) hand to the core. The control and events
// Lambdas, which run on every state transition and every task event, never start one: without this
// value their bundles hold neither the YAML parser nor the schemas.

import { CompileError, type CompileInput, compile } from './compiler/index';
import type { Plan } from './compiler/plan';
import { deploymentEnvironments, formatDiagnostic, parsePipelineFile } from './language/index';

export interface PipelineCompiler {
  readonly parse: typeof parsePipelineFile;
  readonly formatDiagnostic: typeof formatDiagnostic;
  readonly deploymentEnvironments: typeof deploymentEnvironments;
  /** The plan, or why the pipeline cannot be compiled (a user's error: a limit, a lock cycle). */
  compile(
    input: CompileInput,
  ): { readonly ok: true; readonly plan: Plan } | { readonly ok: false; readonly message: string };
}

export const pipelineCompiler: PipelineCompiler = {
  parse: parsePipelineFile,
  formatDiagnostic,
  deploymentEnvironments,
  compile(input) {
    try {
      return { ok: true, plan: compile(input) };
    } catch (error) {
      if (error instanceof CompileError) return { ok: false, message: error.message };
      throw error;
    }
  },
};

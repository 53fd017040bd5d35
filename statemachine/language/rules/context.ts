import type { DiagnosticSink } from '../diagnostics';
import type { Pipeline, Position } from '../model';

/** What a rule may look at besides the pipeline itself. */
export interface RuleContext {
  readonly sink: DiagnosticSink;
  /** Where a key of a model object (a step, a stage) is written; the object's own position if absent. */
  keyAt(object: { readonly at: Position }, key: string): Position;
  /** Where entry `index` of the list under `key` is written; falls back to the key. */
  itemAt(object: { readonly at: Position }, key: string, index: number): Position;
  readonly definedServices: ReadonlySet<string>;
  readonly definedCaches: ReadonlySet<string>;
  /** The names under `definitions.imports`, for `import: pipeline@source`. */
  readonly importSources: ReadonlySet<string>;
  readonly customPipelines: ReadonlySet<string>;
}

/** A rule checks one pipeline and reports through the sink; its codes are stable. */
export type Rule = (pipeline: Pipeline, context: RuleContext) => void;

export function label(pipeline: Pipeline): string {
  return `\`${pipeline.key}\``;
}

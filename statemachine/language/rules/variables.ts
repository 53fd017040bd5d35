// Rules over the variables of custom pipelines.
import type { Rule } from './context';

export const customVariables: Rule = (pipeline, { sink }) => {
  const [first] = pipeline.variables;
  if (first && pipeline.selector.kind !== 'custom') {
    sink.error(first.at, 'variables-outside-custom', '`variables` can only be declared by a custom pipeline');
  }
  const seen = new Set<string>();
  for (const variable of pipeline.variables) {
    if (seen.has(variable.name)) {
      sink.error(variable.at, 'duplicate-variable', `the variable \`${variable.name}\` is declared twice`);
    }
    seen.add(variable.name);
    if (
      variable.allowedValues &&
      variable.default !== undefined &&
      !variable.allowedValues.includes(variable.default)
    ) {
      sink.error(
        variable.at,
        'variable-default-not-allowed',
        `the default of \`${variable.name}\` (${JSON.stringify(variable.default)}) is not one of its allowed-values`,
      );
    }
  }
};

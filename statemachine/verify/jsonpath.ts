// The JSONPaths a definition writes, as lists of keys. Only the reference-path subset is understood
// (`$.a.b`, `$['a']`, `$.a[0]`); anything else (wildcards, filters, `..`) cannot be proved present.

interface ParsedPath {
  /** `$` is the state's input (or the result, in a ResultSelector); `$$` the context object. */
  readonly root: '$' | '$$';
  readonly keys: readonly string[];
}

const SEGMENT = /^(?:\.([^.[\]'"\s*]+)|\['([^']*)'\]|\["([^"]*)"\]|\[(\d+)\])/;

export function parsePath(path: string): ParsedPath | undefined {
  const root = path.startsWith('$$') ? '$$' : path.startsWith('$') ? '$' : undefined;
  if (root === undefined) return undefined;
  const keys: string[] = [];
  let rest = path.slice(root.length);
  while (rest.length > 0) {
    const match = SEGMENT.exec(rest);
    if (!match) return undefined;
    keys.push(match[1] ?? match[2] ?? match[3] ?? match[4] ?? '');
    rest = rest.slice(match[0].length);
  }
  return { root, keys };
}

const isIntrinsic = (value: string) => value.startsWith('States.');

/**
 * The JSONPaths a `.$` field's value reads: the value itself, or every path argument of an intrinsic
 * function (`States.Format('finale:{}', $$.Execution.Input.runId)`), nested calls included.
 */
export function pathsReadBy(value: string): readonly string[] {
  if (!isIntrinsic(value)) return [value];
  const paths: string[] = [];
  let i = 0;
  while (i < value.length) {
    const c = value[i];
    if (c === "'") {
      // A string argument: skip it, escapes included, so a `$` inside it is not a path.
      i++;
      while (i < value.length && value[i] !== "'") i += value[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '$') {
      let end = i;
      while (end < value.length && !/[,)\s]/.test(value[end]!)) end++;
      paths.push(value.slice(i, end));
      i = end;
    } else i++;
  }
  return paths;
}

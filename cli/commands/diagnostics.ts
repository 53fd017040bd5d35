// How the pure commands print diagnostics: one per line, `FILE:LINE:COL: message`, coloured on a TTY.
import { formatDiagnostic } from '../../statemachine/language/diagnostics';
import type { Diagnostic } from '../../statemachine/language/model';
import { err } from '../output';

export function printDiagnostics(diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) {
    const line = formatDiagnostic(d);
    const location = `${d.file}:${d.line}:${d.column}:`;
    const rest = line.slice(location.length);
    const coloured =
      d.severity === 'error'
        ? `${err.bold(location)}${err.red(rest)}`
        : `${err.bold(location)}${err.yellow(rest)}`;
    process.stderr.write(`${coloured}\n`);
  }
}

/** Errors in full; warnings only counted (`finale validate` shows them). */
export function printErrors(diagnostics: readonly Diagnostic[]): void {
  printDiagnostics(diagnostics.filter((d) => d.severity === 'error'));
  const warnings = diagnostics.filter((d) => d.severity === 'warning').length;
  if (warnings > 0) {
    process.stderr.write(err.yellow(`(${plural(warnings, 'warning')}: \`finale validate\` shows them)\n`));
  }
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

import type { Diagnostic, Position } from './model';

/** Collects diagnostics for one file; positions are 1-based. */
export class DiagnosticSink {
  readonly #items: Diagnostic[] = [];
  readonly #seen = new Set<string>();

  constructor(readonly file: string) {}

  error(at: Position, code: string, message: string): void {
    this.#add({ severity: 'error', file: this.file, line: at.line, column: at.column, code, message });
  }

  warning(at: Position, code: string, message: string): void {
    this.#add({ severity: 'warning', file: this.file, line: at.line, column: at.column, code, message });
  }

  get hasErrors(): boolean {
    return this.#items.some((d) => d.severity === 'error');
  }

  /**
   * Sorted by position, errors before warnings at the same place. A warning repeated word for word
   * (the same pipe in eight steps) is listed once, at its first place, naming the others.
   */
  list(): Diagnostic[] {
    const sorted = [...this.#items].sort(compareDiagnostics);
    const repeats = new Map<string, Diagnostic[]>();
    for (const d of sorted) {
      if (d.severity !== 'warning') continue;
      const key = `${d.code}|${d.message}`;
      repeats.set(key, [...(repeats.get(key) ?? []), d]);
    }
    const result: Diagnostic[] = [];
    for (const d of sorted) {
      const same = d.severity === 'warning' ? repeats.get(`${d.code}|${d.message}`) : undefined;
      if (!same || same.length === 1) {
        result.push(d);
        continue;
      }
      if (same[0] !== d) continue;
      const others = same.slice(1).map((o) => `${o.line}:${o.column}`);
      const shown =
        others.length > 5
          ? `${others.slice(0, 5).join(', ')} and ${others.length - 5} more`
          : others.join(', ');
      result.push({ ...d, message: `${d.message} (also at ${shown})` });
    }
    return result;
  }

  // An anchored value used in several places yields the same diagnostic at the same position once.
  #add(d: Diagnostic): void {
    const key = `${d.severity}|${d.line}|${d.column}|${d.code}|${d.message}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.#items.push(d);
  }
}

function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return (
    a.line - b.line ||
    a.column - b.column ||
    (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1) ||
    a.code.localeCompare(b.code)
  );
}

/** `FILE:LINE:COL: message`; warnings say so, so they are told apart from errors at a glance. */
export function formatDiagnostic(d: Diagnostic): string {
  const prefix = d.severity === 'warning' ? 'warning: ' : '';
  return `${d.file}:${d.line}:${d.column}: ${prefix}${d.message} [${d.code}]`;
}

export const START: Position = { line: 1, column: 1 };

import { expect } from 'vitest';
import {
  type Diagnostic,
  type PipelineFile,
  parsePipelineFile,
  type ReadResult,
} from '../../../statemachine/language/index';

/** Strips the common indentation of a template literal, so YAML can be written inline and indented. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ''), '');
  const lines = text
    .replace(/^\n/, '')
    .replace(/\n[ ]*$/, '\n')
    .split('\n');
  const indent = Math.min(
    ...lines.filter((l) => l.trim() !== '').map((l) => l.match(/^ */)?.[0].length ?? 0),
  );
  return lines.map((l) => l.slice(indent)).join('\n');
}

export function parse(text: string, path = 'bitbucket-pipelines.yml'): ReadResult {
  return parsePipelineFile(text, path);
}

/** `code@line:col` for each error, in order. */
export function errors(result: ReadResult): string[] {
  return result.diagnostics.filter((d) => d.severity === 'error').map(brief);
}

export function warnings(result: ReadResult): string[] {
  return result.diagnostics.filter((d) => d.severity === 'warning').map(brief);
}

export function brief(d: Diagnostic): string {
  return `${d.code}@${d.line}:${d.column}`;
}

export function valid(text: string): PipelineFile {
  const result = parse(text);
  if (!result.ok) expect.fail(`expected a valid file, got:\n${result.diagnostics.map(brief).join('\n')}`);
  expect(errors(result)).toEqual([]);
  return result.file;
}

export function message(result: ReadResult, code: string): string {
  const found = result.diagnostics.find((d) => d.code === code);
  if (!found) expect.fail(`no diagnostic ${code} in ${result.diagnostics.map(brief).join(', ')}`);
  return found.message;
}

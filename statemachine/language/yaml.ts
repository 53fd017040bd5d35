// YAML text → yaml Document, with errors as diagnostics. The lexer and parser run here by hand (as
// parseDocument does) so nesting depth can be checked before the recursive composer sees a token:
// past a few thousand levels the composer exhausts the stack, which can take Node down with it.

import type { CST } from 'yaml';
import { Composer, type Document, Lexer, Parser, type YAMLError } from 'yaml';
import type { DiagnosticSink } from './diagnostics';
import { LIMITS } from './limits';
import { LineIndex } from './lines';
import type { Position } from './model';

interface ParsedYaml {
  readonly doc: Document.Parsed;
  readonly lines: LineIndex;
}

class TooDeep extends Error {
  constructor(readonly offset: number) {
    super('too deep');
  }
}

// YAML 1.1 as Bitbucket reads it: `<<` merge keys; yes/no/on/off are booleans. Duplicate keys are
// found by the tree builder in linear time (the yaml package's own check is quadratic in map size).
const OPTIONS = { version: '1.1', merge: true, uniqueKeys: false, prettyErrors: false } as const;

export function parseYaml(text: string, sink: DiagnosticSink): ParsedYaml | undefined {
  const lines = new LineIndex(text);
  const at = (offset: number): Position => lines.at(offset);
  const parser = new Parser();
  const composer = new Composer(OPTIONS);
  let doc: Document.Parsed | undefined;
  let extraDocument: number | undefined;
  try {
    for (const d of composer.compose(tokens(text, parser), true, text.length)) {
      if (!doc) doc = d;
      else if (extraDocument === undefined) extraDocument = d.range[0];
    }
  } catch (error) {
    if (!(error instanceof TooDeep)) throw error;
    sink.error(
      at(error.offset),
      'too-deep',
      `the YAML nests more than ${LIMITS.maxNesting} levels deep here; a pipeline file never needs that`,
    );
    return undefined;
  }
  if (!doc) return undefined;
  for (const error of doc.errors) report(error, 'error', sink, at, text);
  for (const warning of doc.warnings) report(warning, 'warning', sink, at, text);
  if (extraDocument !== undefined) {
    sink.error(
      at(extraDocument),
      'multiple-documents',
      'the file holds more than one YAML document (a second `---`); Bitbucket reads one',
    );
  }
  return { doc, lines };
}

function* tokens(text: string, parser: Parser): Generator<CST.Token> {
  let offset = 0;
  for (const lexeme of new Lexer().lex(text)) {
    yield* parser.next(lexeme);
    if (parser.stack.length > LIMITS.maxNesting) throw new TooDeep(offset);
    offset += lexeme.length;
  }
  yield* parser.end();
}

const MESSAGES: Partial<Record<string, { code: string; message: string }>> = {
  TAB_AS_INDENT: {
    code: 'tab-indentation',
    message: 'a tab is used for indentation; YAML allows only spaces there',
  },
  DUPLICATE_KEY: { code: 'duplicate-key', message: 'this key appears twice in the same mapping' },
  BAD_ALIAS: {
    code: 'yaml-alias',
    message: 'an alias must name an anchor defined earlier (`&name` … `*name`)',
  },
};

function report(
  error: YAMLError,
  severity: 'error' | 'warning',
  sink: DiagnosticSink,
  at: (offset: number) => Position,
  text: string,
): void {
  const known = MESSAGES[error.code];
  const position = at(startOf(error, text));
  if (severity === 'warning') {
    sink.warning(position, 'yaml-warning', `${firstLine(error.message)}; Finale reads the value as text`);
    return;
  }
  if (known) {
    sink.error(position, known.code, known.message);
    return;
  }
  // The yaml package words these well; add what the line looks like when it helps.
  const hint = hintFor(error, text);
  sink.error(position, 'yaml-syntax', `invalid YAML: ${lowerFirst(firstLine(error.message))}${hint}`);
}

// An unclosed quote is reported where the text ends; point at the quote that opened it instead.
function startOf(error: YAMLError, text: string): number {
  const quote = error.code === 'MISSING_CHAR' ? /closing (["'])quote/.exec(error.message)?.[1] : undefined;
  if (!quote) return error.pos[0];
  const opening = text.lastIndexOf(quote, Math.max(0, error.pos[0] - 1));
  return opening === -1 ? error.pos[0] : opening;
}

function hintFor(error: YAMLError, text: string): string {
  if (error.code === 'MULTILINE_IMPLICIT_KEY' || error.code === 'BLOCK_AS_IMPLICIT_KEY') {
    return ' (check the indentation of this line and the one before it)';
  }
  if (error.code === 'MISSING_CHAR' && /quote/i.test(error.message)) {
    return ' (a quoted string is not closed)';
  }
  if (error.code === 'UNEXPECTED_TOKEN' && text.charAt(error.pos[0]) === '@') {
    return ' (a value starting with @ must be quoted)';
  }
  return '';
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '').replace(/\.$/, '');
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

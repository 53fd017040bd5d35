// Renders a step's script items into the one sh program supervisor.sh runs, as Bitbucket does:
// `set -e` (no pipefail), every item echoed as `+ item` before it runs, all items in one shell so
// that `if … then` / `fi` split across items and variables exported by one item reach the next.
//
// An echo line may only go where a new command can start without changing the program: not after
// `&&`, `||`, `|` or a trailing backslash (the echo would become the right-hand side), not after
// `case … in` or `;;` (a pattern must follow), not inside a quote or a here-document. Items that
// cannot be split that way form one chunk, echoed as a whole before it.

/** One shell chunk: the items it joins and the text they form. */
interface Chunk {
  readonly items: string[];
}

/** Single-quotes a string for sh. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The echo line for a chunk: one `+ item` line per item (multi-line items whole). */
function echoLine(items: readonly string[]): string {
  return `printf '+ %s\\n' ${items.map(shellQuote).join(' ')}`;
}

/** Operators after which the next line continues the same command. */
const CONTINUERS = new Set(['&&', '||', '|', '|&', '!']);
/** Tokens after which a new command starts; reserved words are only keywords right after these. */
const SEPARATORS = new Set([
  '\n',
  ';',
  '&',
  '&&',
  '||',
  '|',
  '|&',
  '(',
  ')',
  '{',
  '}',
  ';;',
  ';&',
  ';;&',
  '!',
  'then',
  'do',
  'else',
  'elif',
  'if',
  'while',
  'until',
]);
const OPENERS = new Set(['if', 'while', 'until', 'for', 'select', '{', '(']);
const CLOSERS = new Map([
  ['fi', 'if'],
  ['done', 'loop'],
  ['}', '{'],
  [')', '('],
]);
const LOOPS = new Set(['while', 'until', 'for', 'select']);
const CASE_ENDS = new Set([';;', ';&', ';;&']);

interface ScanState {
  /** Inside quotes, a here-document, `$(`…`)` or a backslash-newline: the program is not at a boundary. */
  readonly open: boolean;
  /** Significant tokens seen, newlines included (comments and blanks dropped). */
  readonly tokens: readonly string[];
}

const OPERATOR = /^(?:;;&|;;|;&|&&|\|\||\|&|<<<|<<-|<<|[;&|()])/;

/**
 * A small sh lexer, enough to tell whether a text ends at a command boundary. It follows quotes,
 * escapes, comments, `$(…)` nesting and here-documents; it does not parse.
 */
function scanShell(text: string): ScanState {
  const tokens: string[] = [];
  const pendingHeredocs: { delimiter: string; stripTabs: boolean }[] = [];
  let word = '';
  let depth = 0;
  let i = 0;
  let expectHeredocWord: boolean | null = null;

  const endWord = (): void => {
    if (word === '') return;
    if (expectHeredocWord !== null) {
      pendingHeredocs.push({ delimiter: word.replace(/["'\\]/g, ''), stripTabs: expectHeredocWord });
      expectHeredocWord = null;
    }
    tokens.push(word);
    word = '';
  };

  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\') {
      // A backslash-newline at the very end continues the command on the next item.
      if (i + 1 >= text.length || (text[i + 1] === '\n' && i + 2 >= text.length))
        return { open: true, tokens };
      if (text[i + 1] !== '\n') word += c + text[i + 1];
      i += 2;
      continue;
    }
    if (c === '$' && text[i + 1] === "'") {
      // $'…' (bash): backslash escapes a quote inside.
      let j = i + 2;
      while (j < text.length && text[j] !== "'") j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) return { open: true, tokens };
      word += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { open: true, tokens };
      word += text.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    if (c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) return { open: true, tokens };
      word += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '$' && text[i + 1] === '(') {
      depth += 1;
      word += '$(';
      i += 2;
      continue;
    }
    if (depth > 0) {
      if (c === '(') depth += 1;
      if (c === ')') depth -= 1;
      word += c;
      i += 1;
      continue;
    }
    if (c === '#' && word === '') {
      while (i < text.length && text[i] !== '\n') i += 1;
      continue;
    }
    if (c === '\n') {
      endWord();
      tokens.push('\n');
      i += 1;
      // Here-document bodies start on the next line and end at a line equal to the delimiter.
      for (const heredoc of pendingHeredocs.splice(0)) {
        for (;;) {
          if (i >= text.length) return { open: true, tokens };
          const next = text.indexOf('\n', i);
          const line = text.slice(i, next < 0 ? text.length : next);
          i = next < 0 ? text.length : next + 1;
          if ((heredoc.stripTabs ? line.replace(/^\t+/, '') : line) === heredoc.delimiter) break;
          if (next < 0) return { open: true, tokens };
        }
      }
      continue;
    }
    if (c === ' ' || c === '\t') {
      endWord();
      i += 1;
      continue;
    }
    const operator = word === '' || /[;&|()<]/.test(c) ? OPERATOR.exec(text.slice(i))?.[0] : undefined;
    if (operator) {
      endWord();
      if (operator === '<<<') {
        // A here-string: its word is an ordinary word.
      } else if (operator === '<<' || operator === '<<-') {
        expectHeredocWord = operator === '<<-';
      } else {
        tokens.push(operator);
      }
      i += operator.length;
      continue;
    }
    word += c;
    i += 1;
  }
  endWord();
  return { open: depth > 0 || pendingHeredocs.length > 0 || expectHeredocWord !== null, tokens };
}

/**
 * Whether a program text ends where a new command (the next item's echo line) may start without
 * changing the program: outside quotes and here-documents, after a complete command, and outside
 * any compound command. An echo inside `if`/`while`/`case`/`{`/`(` could become the condition's or
 * the block's last command and change its status, so a compound split across items is one chunk.
 */
export function endsAtCommandBoundary(text: string): boolean {
  const { open, tokens } = scanShell(text);
  if (open) return false;
  const stack: string[] = [];
  let commandStart = true;
  let previous: string | undefined;
  let beforePrevious: string | undefined;
  for (const token of tokens) {
    const top = stack.at(-1);
    if (top === 'case') {
      // `case WORD in`, then patterns.
      if (token === 'in') stack[stack.length - 1] = 'case-pattern';
    } else if (top === 'case-pattern') {
      if (token === 'esac') {
        stack.pop();
        commandStart = false;
      } else if (token === ')') {
        stack[stack.length - 1] = 'case-body';
        commandStart = true;
      }
    } else if (top === 'case-body' && CASE_ENDS.has(token)) {
      stack[stack.length - 1] = 'case-pattern';
    } else if (commandStart && token === 'case') {
      stack.push('case');
      commandStart = false;
    } else if (commandStart && token === 'esac' && top === 'case-body') {
      stack.pop();
      commandStart = false;
    } else if (commandStart && OPENERS.has(token)) {
      stack.push(LOOPS.has(token) ? 'loop' : token);
      commandStart = true;
    } else if (token === '{' && beforePrevious === 'function') {
      // `function name {`
      stack.push('{');
      commandStart = true;
    } else if ((commandStart || token === ')') && CLOSERS.has(token)) {
      if (top === CLOSERS.get(token)) stack.pop();
      commandStart = token === ')';
    } else {
      commandStart = SEPARATORS.has(token);
    }
    if (token !== '\n') {
      beforePrevious = previous;
      previous = token;
    }
  }
  if (stack.length > 0) return false;
  if (previous !== undefined && CONTINUERS.has(previous)) return false;
  // `name()` at the end: the function body must follow.
  if (previous === ')' && beforePrevious === '(') return false;
  return true;
}

function chunksOf(items: readonly string[]): Chunk[] {
  const chunks: Chunk[] = [];
  let text = '';
  for (const raw of items) {
    const item = raw.replace(/\s+$/, '');
    const current = chunks.at(-1);
    if (current && !endsAtCommandBoundary(text)) {
      current.items.push(item);
      text += `${item}\n`;
    } else {
      chunks.push({ items: [item] });
      text = `${item}\n`;
    }
  }
  return chunks;
}

/**
 * The sh program for a list of script items. Run by the step's shell (bash when the image has it,
 * sh otherwise), so the items may use that shell's syntax.
 */
export function renderScript(items: readonly string[]): string {
  const lines = [
    "# Rendered by Finale from the step's items; supervisor.sh runs it.",
    // The echo lines single-quote the items on purpose: $ and ' in them must print as written.
    '# shellcheck disable=SC1003,SC2016',
    'set -e',
  ];
  for (const chunk of chunksOf(items)) {
    lines.push(echoLine(chunk.items));
    lines.push(...chunk.items);
  }
  return `${lines.join('\n')}\n`;
}

interface RenderedStep {
  /** The script file's text. */
  readonly script: string;
  /** The after-script file's text, or null when the step has none. */
  readonly afterScript: string | null;
}

export function renderStep(step: {
  readonly script: readonly string[];
  readonly afterScript?: readonly string[];
}): RenderedStep {
  const after = step.afterScript ?? [];
  return { script: renderScript(step.script), afterScript: after.length > 0 ? renderScript(after) : null };
}

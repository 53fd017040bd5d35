// Checks on the raw bytes or text, before any YAML parsing: size, encoding, binary content.

import type { DiagnosticSink } from './diagnostics';
import { LIMITS } from './limits';
import { LineIndex } from './lines';
import type { Position } from './model';

const MB = 1024 * 1024;

function formatSize(bytes: number): string {
  return bytes >= MB ? `${(bytes / MB).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

export function tooLargeMessage(bytes: number): string {
  return `the file is ${formatSize(bytes)}; Finale reads pipeline files up to ${formatSize(LIMITS.maxFileBytes)}`;
}

/** Bytes to text: refuses files over the size limit and bytes that are not UTF-8. */
export function decodeSource(bytes: Uint8Array, sink: DiagnosticSink): string | undefined {
  if (bytes.byteLength > LIMITS.maxFileBytes) {
    sink.error({ line: 1, column: 1 }, 'file-too-large', tooLargeMessage(bytes.byteLength));
    return undefined;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Decode again leniently only to say where the first bad byte is.
    const lenient = new TextDecoder('utf-8').decode(bytes);
    const at = positionOfIndex(lenient, lenient.indexOf('\uFFFD'));
    sink.error(at, 'not-utf8', 'the file is not valid UTF-8 text (save it as UTF-8)');
    return undefined;
  }
}

// C0 controls other than tab, line feed and carriage return, and DEL: YAML forbids them, and they mean
// the file is binary or damaged.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/** Text checks shared by both entry points; returns the text to parse (without a byte order mark). */
export function checkText(text: string, sink: DiagnosticSink): string | undefined {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > LIMITS.maxFileBytes) {
    sink.error({ line: 1, column: 1 }, 'file-too-large', tooLargeMessage(bytes));
    return undefined;
  }
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const control = CONTROL.exec(body);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
    sink.error(
      positionOfIndex(body, control.index),
      'binary-content',
      `the file contains the control character 0x${code}; is it a binary file?`,
    );
    return undefined;
  }
  const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.exec(body);
  if (lone) {
    sink.error(positionOfIndex(body, lone.index), 'not-utf8', 'the text contains an unpaired surrogate');
    return undefined;
  }
  return body;
}

function positionOfIndex(text: string, index: number): Position {
  return new LineIndex(text).at(Math.max(0, index));
}

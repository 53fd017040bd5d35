// The yaml AST → plain values (what the schema validates and the builder reads), with the source
// position of every key and value kept on the side. Aliases and `<<` merge keys are expanded here,
// within a budget, so an alias bomb stops early instead of filling memory.

import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Scalar,
  visit,
} from 'yaml';
import type { DiagnosticSink } from './diagnostics';
import { LIMITS } from './limits';
import type { LineIndex } from './lines';
import type { Position } from './model';

export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };
export type Path = readonly (string | number)[];

export interface Entry {
  /** Where the key is written (absent for list items). */
  readonly key?: Position;
  /** Where the value is written (the key's position when the value is empty). */
  readonly value: Position;
  /** The source text of a plain scalar that YAML read as a number, boolean or null (`1.10`, `on`). */
  readonly raw?: string;
  /** The value, or something inside it, defines an anchor (`&name`). */
  readonly anchors: boolean;
}

/** Where a mapping or list is written: kept on the container itself, so whatever reads the value can
 * find its source without a tree at hand (the schema builds the model from it). */
export interface Source {
  /** Where the container starts. */
  readonly at: Position;
  /** Where the key that holds it is written, when its parent is a mapping. */
  readonly key?: Position;
  /** The path from the document root to where it is used (an alias expands at each use). */
  readonly path: Path;
  readonly entries: ReadonlyMap<string | number, Entry>;
}

const SOURCE = Symbol('source');

/** The source record of a mapping or list of the tree; undefined for scalars and other values. */
export function sourceOf(value: unknown): Source | undefined {
  return typeof value === 'object' && value !== null ? (value as { [SOURCE]?: Source })[SOURCE] : undefined;
}

function record(container: object, source: Source): void {
  // Not enumerable, so the values stay plain data for the schema and for equality in tests.
  Object.defineProperty(container, SOURCE, { value: source, enumerable: false });
}

export class SourceTree {
  constructor(
    readonly root: Value,
    readonly rootAt: Position,
  ) {}

  entry(container: unknown, key: string | number): Entry | undefined {
    return sourceOf(container)?.entries.get(key);
  }

  /** The keys of a mapping in the order they are written (merged keys after the written ones). */
  keys(container: unknown): string[] {
    if (typeof container !== 'object' || container === null) return [];
    const entries = sourceOf(container)?.entries;
    return entries ? [...entries.keys()].map(String) : Object.keys(container);
  }

  /** Where a mapping or list starts. */
  positionOf(container: unknown): Position {
    return sourceOf(container)?.at ?? this.rootAt;
  }

  /**
   * The position for a path: the value (or key, for `prefer: 'key'`) at its end, or, where the path
   * leaves the tree (a missing key), the key of the deepest entry that exists.
   */
  locate(path: Path, prefer: 'key' | 'value' = 'value'): Position {
    let container: unknown = this.root;
    let last: Entry | undefined;
    for (let i = 0; i < path.length; i++) {
      const segment = path[i] as string | number;
      const entry = this.entry(container, segment);
      if (!entry) return last ? (last.key ?? last.value) : this.positionOf(container);
      if (i === path.length - 1) return prefer === 'key' ? (entry.key ?? entry.value) : entry.value;
      last = entry;
      container = (container as Record<string | number, unknown>)[segment];
    }
    return this.positionOf(container);
  }

  /** The value at a path, or undefined. */
  get(path: Path): Value | undefined {
    let value: unknown = this.root;
    for (const segment of path) {
      if (typeof value !== 'object' || value === null) return undefined;
      if (!Object.hasOwn(value, segment)) return undefined;
      value = (value as Record<string | number, unknown>)[segment];
    }
    return value as Value;
  }
}

class Abort extends Error {}

interface Where {
  readonly path: Path;
  readonly key?: Position;
}

/** Builds the tree; undefined when the document cannot be read at all (an alias bomb, a cycle). */
export function buildTree(
  doc: Document.Parsed,
  lines: LineIndex,
  sink: DiagnosticSink,
): SourceTree | undefined {
  const at = (node: Node | null | undefined, fallback: Position): Position => {
    const offset = node?.range?.[0];
    return offset === undefined ? fallback : lines.at(offset);
  };
  const contents = doc.contents as Node | null;
  const rootAt = at(contents, { line: 1, column: 1 });
  let expanded = 0;
  const expanding = new Set<Node>();
  let targets: Map<Alias, Node> | undefined;

  interface Converted {
    readonly value: Value;
    readonly anchors: boolean;
  }

  // `where`: the path of the value and the key that holds it, recorded on every container.
  const convert = (
    node: Node | null,
    here: Position,
    depth: number,
    viaAlias: boolean,
    where: Where,
  ): Converted => {
    if (depth > LIMITS.maxNesting * 2) {
      sink.error(here, 'too-deep', `aliases nest more than ${LIMITS.maxNesting * 2} levels deep here`);
      throw new Abort();
    }
    if (viaAlias && ++expanded > LIMITS.maxAliasExpansion) {
      sink.error(
        here,
        'alias-bomb',
        `aliases expand to more than ${LIMITS.maxAliasExpansion.toLocaleString('en')} values; the file is refused as an alias bomb`,
      );
      throw new Abort();
    }
    if (node === null) return { value: null, anchors: false };
    const anchors = !viaAlias && Boolean((node as { anchor?: string }).anchor);
    if (isAlias(node)) return convertAlias(node, at(node, here), depth, where);
    if (isScalar(node)) return { value: scalarValue(node), anchors };
    if (isSeq(node)) {
      const list: Value[] = [];
      const entries = new Map<string | number, Entry>();
      let inner = anchors;
      node.items.forEach((item, index) => {
        const itemNode = item as Node | null;
        const position = at(itemNode, at(node, here));
        const converted = convert(itemNode, position, depth + 1, viaAlias, { path: [...where.path, index] });
        list.push(converted.value);
        inner ||= converted.anchors;
        entries.set(index, { value: position, raw: rawOf(itemNode), anchors: converted.anchors });
      });
      record(list, { at: at(node, here), ...(where.key && { key: where.key }), path: where.path, entries });
      return { value: list, anchors: inner };
    }
    if (isMap(node)) return convertMap(node, here, depth, viaAlias, anchors, where);
    sink.error(here, 'yaml-syntax', 'invalid YAML: a value here could not be read');
    return { value: null, anchors };
  };

  const convertAlias = (alias: Alias, here: Position, depth: number, where: Where): Converted => {
    targets ??= aliasTargets(doc);
    const target = targets.get(alias);
    if (!target) {
      sink.error(here, 'yaml-alias', `the alias *${alias.source} names no anchor defined before it`);
      return { value: null, anchors: false };
    }
    if (expanding.has(target)) {
      sink.error(here, 'alias-cycle', `the alias *${alias.source} refers to a value that contains it`);
      throw new Abort();
    }
    expanding.add(target);
    try {
      return convert(target, here, depth + 1, true, where);
    } finally {
      expanding.delete(target);
    }
  };

  const convertMap = (
    node: Node & { items: unknown[] },
    here: Position,
    depth: number,
    viaAlias: boolean,
    anchors: boolean,
    where: Where,
  ): Converted => {
    const object: { [key: string]: Value } = {};
    const entries = new Map<string | number, Entry>();
    const mapAt = at(node, here);
    const merges: { node: Node | null; at: Position }[] = [];
    let inner = anchors;
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as Node | null;
      const valueNode = pair.value as Node | null;
      const keyAt = at(keyNode, mapAt);
      if (isMergeKey(keyNode)) {
        merges.push({ node: valueNode, at: at(valueNode, keyAt) });
        continue;
      }
      const key = keyText(keyNode);
      if (key === undefined) {
        sink.error(keyAt, 'complex-key', 'a mapping key must be plain text, not a list or mapping');
        continue;
      }
      const previous = entries.get(key);
      if (previous) {
        const first = previous.key ?? previous.value;
        sink.error(
          keyAt,
          'duplicate-key',
          `duplicate key \`${key}\` (first at ${first.line}:${first.column}); YAML keys must be unique`,
        );
        continue;
      }
      const valueAt = at(valueNode, keyAt);
      const converted = convert(valueNode, valueAt, depth + 1, viaAlias, {
        path: [...where.path, key],
        key: keyAt,
      });
      inner ||= converted.anchors;
      define(object, key, converted.value);
      entries.set(key, { key: keyAt, value: valueAt, raw: rawOf(valueNode), anchors: converted.anchors });
    }
    // Explicit keys win over merged ones; among merged mappings the earlier one wins.
    for (const merge of merges) {
      const sources = mergeSources(merge.node);
      if (!sources) {
        sink.error(
          merge.at,
          'yaml-merge',
          '`<<` must be followed by an alias of a mapping or a list of them',
        );
        continue;
      }
      for (const source of sources) {
        const sourceAt = at(source, merge.at);
        // Merged keys are used here, so their values take this mapping's path.
        const converted = convert(source, sourceAt, depth + 1, viaAlias || isAlias(source), where);
        if (
          typeof converted.value !== 'object' ||
          converted.value === null ||
          Array.isArray(converted.value)
        ) {
          sink.error(sourceAt, 'yaml-merge', '`<<` can only merge mappings');
          continue;
        }
        inner ||= converted.anchors;
        for (const [key, value] of Object.entries(converted.value)) {
          if (entries.has(key)) continue;
          define(object, key, value);
          const entry = sourceOf(converted.value)?.entries.get(key);
          if (entry) entries.set(key, entry);
        }
      }
    }
    record(object, { at: mapAt, ...(where.key && { key: where.key }), path: where.path, entries });
    return { value: object, anchors: inner };
  };

  try {
    const root = convert(contents, rootAt, 0, false, { path: [] });
    return new SourceTree(root.value, rootAt);
  } catch (error) {
    if (error instanceof Abort) return undefined;
    throw error;
  }
}

// Each alias names the latest anchor of that name written before it. One pass over the document,
// because yaml's Alias.resolve walks the whole document on every call.
function aliasTargets(doc: Document.Parsed): Map<Alias, Node> {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node>();
  visit(doc, (_, node) => {
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target) targets.set(node, target);
    } else if (isNode(node) && node.anchor) {
      anchors.set(node.anchor, node);
    }
  });
  return targets;
}

function mergeSources(node: Node | null): (Node | null)[] | undefined {
  if (node === null) return undefined;
  if (isSeq(node)) return node.items as (Node | null)[];
  if (isAlias(node) || isMap(node)) return [node];
  return undefined;
}

function isMergeKey(node: Node | null): boolean {
  if (!isScalar(node)) return false;
  const value = node.value;
  return (
    (typeof value === 'symbol' && value.description === '<<') || (value === '<<' && node.type === 'PLAIN')
  );
}

function keyText(node: Node | null): string | undefined {
  if (node === null) return '';
  if (isScalar(node)) return scalarText(node);
  return undefined;
}

function scalarText(node: Scalar): string {
  const value = node.value;
  if (typeof value === 'string') return value;
  const source = (node as Scalar & { source?: string }).source;
  if (typeof source === 'string') return source;
  return value === null || value === undefined ? '' : String(value);
}

function scalarValue(node: Scalar): Value {
  const value = node.value;
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    // yaml's YAML 1.1 float pattern also takes words such as `e0` and reads them as NaN.
    const source = (node as Scalar & { source?: string }).source;
    if (!Number.isFinite(value) && typeof source === 'string' && !/^[-+]?\.(inf|nan)$/i.test(source))
      return source;
    return value;
  }
  if (typeof value === 'bigint') return Number(value);
  // Timestamps, binary and other YAML 1.1 types: keep the text as written.
  return scalarText(node);
}

function rawOf(node: Node | null): string | undefined {
  if (!isScalar(node)) return undefined;
  const value = node.value;
  if (typeof value === 'string') return undefined;
  const source = (node as Scalar & { source?: string }).source;
  return typeof source === 'string' ? source : undefined;
}

function define(object: { [key: string]: Value }, key: string, value: Value): void {
  // defineProperty, so a key such as `__proto__` is an ordinary key.
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

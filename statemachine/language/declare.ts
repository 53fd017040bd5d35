// How the pipeline language is declared. Each key is written once, in a zod shape, and that one
// declaration validates the value, builds the typed model (kebab-case keys become camelCase, empty
// values drop out) and finds where it is written, from the source record the tree keeps on every
// mapping and list. A part declared `isolated` is parsed on its own: its problems are reported and
// only that part is left out, so one broken pipeline does not hide the problems of the others.
// Warnings for keys Finale reads but does not carry out are declared beside the key.
import * as z from 'zod/mini';
import { START } from './diagnostics';
import type { Position } from './model';
import { type Entry, type Path, type Source, sourceOf } from './tree';

type Schema = z.core.$ZodType;
type Issue = z.core.$ZodIssue;

/** Problems of isolated parts and warnings, carried up to the root of the model. */
type Note =
  | {
      readonly kind: 'warning' | 'error';
      readonly at: Position;
      readonly code: string;
      readonly message: string;
    }
  | { readonly kind: 'issues'; readonly path: Path; readonly issues: readonly Issue[] };

// Hidden on built values, so the model stays plain data (and equal in tests) while it still knows
// where it came from and what was noticed while building it.
const NOTES = Symbol('notes');
const ORIGIN = Symbol('origin');

function hide(target: object, key: symbol, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: false, configurable: true });
}

/** The notes gathered under a built value (the root's are all of them). */
export function notesOf(value: unknown): readonly Note[] {
  return (typeof value === 'object' && value !== null && (value as { [NOTES]?: Note[] })[NOTES]) || [];
}

/** Where `key` of a built model object is written; the object's own position if it has no such key. */
export function keyOf(object: { readonly at: Position }, key: string): Position {
  const entry = originOf(object)?.entries.get(key);
  return entry?.key ?? object.at;
}

/** Where entry `index` of the list under `key` is written; the key's position if there is none. */
export function itemOf(object: { readonly at: Position }, key: string, index: number): Position {
  const source = originOf(object);
  const list = source && sourceOf(source.value[key]);
  return list?.entries.get(index)?.value ?? keyOf(object, key);
}

/** The same object with other or more fields: keeps where it came from, for `keyOf`. */
export function amend<T extends object, U extends object>(object: T, changes: U): Omit<T, keyof U> & U {
  const amended = { ...object, ...changes };
  const origin = (object as { [ORIGIN]?: unknown })[ORIGIN];
  if (origin) hide(amended, ORIGIN, origin);
  hide(amended, NOTES, notesOf(object));
  return amended;
}

interface OriginRecord extends Source {
  readonly value: Readonly<Record<string, unknown>>;
}

function originOf(object: object): OriginRecord | undefined {
  return (object as { [ORIGIN]?: OriginRecord })[ORIGIN];
}

// --- fields ------------------------------------------------------------------------------------

/** A warning for a value Finale reads but does not carry out; `message` is undefined when none is due. */
interface Warning<T> {
  readonly code: string;
  readonly message: (value: T) => string | undefined;
}

/** A value as the model keeps it, when it is there. */
type Present<T> = Exclude<Settled<T>, null | undefined>;

export interface Field<S extends Schema, I extends boolean = boolean> {
  readonly schema: S;
  readonly warn?: Warning<Present<z.output<S>>>;
  readonly isolated: I;
}

/** A key whose value gets a warning. */
export function warned<S extends Schema>(
  schema: S,
  code: string,
  message: (value: Present<z.output<S>>) => string | undefined,
): Field<S, false> {
  return { schema, warn: { code, message }, isolated: false };
}

/** A key parsed on its own; when it is wrong it is reported and left out, and the rest is built. */
export function isolated<S extends Schema>(schema: S, warn?: Warning<Present<z.output<S>>>): Field<S, true> {
  return { schema, ...(warn && { warn }), isolated: true };
}

type Declared = Schema | Field<Schema>;

function fieldOf(declared: Declared): Field<Schema> {
  return 'schema' in declared ? declared : { schema: declared, isolated: false };
}

// --- scalar nodes ------------------------------------------------------------------------------

const PENDING = Symbol('pending');

/**
 * A model node written as a scalar (`image: node:20`, a script command). A scalar has no source
 * record, so its container finishes it with the text as written and the place it holds it.
 */
interface Pending<T> {
  readonly [PENDING]: (text: string, at: Position) => T;
  readonly text: string;
}

type Settled<T> = T extends Pending<infer M> ? M : T;

export function scalar<S extends Schema, M>(schema: S, build: (text: string, at: Position) => M) {
  return z.pipe(
    schema,
    z.transform((value: z.output<S>): Pending<M> => ({ [PENDING]: build, text: String(value) })),
  );
}

function isPending(value: unknown): value is Pending<unknown> {
  return typeof value === 'object' && value !== null && PENDING in value;
}

/** A child as the model keeps it: text as written, scalar nodes finished, its notes gathered. */
function settle(value: unknown, entry: Entry | undefined, at: Position, notes: Note[]): unknown {
  if (typeof value === 'string') return entry?.raw ?? value;
  if (isPending(value)) return value[PENDING](entry?.raw ?? value.text, at);
  notes.push(...notesOf(value));
  return value;
}

function warn<T>(warning: Warning<T> | undefined, value: T, at: Position, notes: Note[]): void {
  const message = warning?.message(value);
  if (warning && message !== undefined) notes.push({ kind: 'warning', at, code: warning.code, message });
}

function finished<M>(value: M, notes: readonly Note[], origin?: OriginRecord): M {
  if (typeof value !== 'object' || value === null) return value;
  // A finishing function may return a child, whose notes are among these already.
  hide(value, NOTES, [...new Set([...notesOf(value), ...notes])]);
  // A child returned as it is keeps its own origin.
  if (origin && !originOf(value)) hide(value, ORIGIN, origin);
  return value;
}

type RawIssue = z.core.$ZodRawIssue;

/**
 * Runs a schema inside the parse of another, so its issues stay raw: the parse around it adds the
 * path and words them once, as zod does for its own children.
 */
function run(schema: Schema, value: unknown): { value: unknown; issues: RawIssue[] } {
  const result = schema._zod.run({ value, issues: [] }, { async: false });
  if (result instanceof Promise) throw new Error('the pipeline schema must be synchronous');
  return result;
}

function forward(ctx: z.core.ParsePayload, issues: readonly RawIssue[]): never {
  ctx.issues.push(...issues);
  return z.NEVER;
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The isolated children of a mapping or record that holds up: each is parsed on its own, and one
 * that fails is reported at its path (worded by a parse of its own) and left out.
 */
function isolate(
  children: readonly (readonly [string, Schema])[],
  raw: Readonly<Record<string, unknown>>,
  path: Path,
  values: Map<string, unknown>,
  notes: Note[],
): void {
  for (const [key, schema] of children) {
    const result = run(schema, raw[key]);
    if (result.issues.length === 0) {
      values.set(key, result.value);
      continue;
    }
    const worded = z.safeParse(schema, raw[key]);
    if (!worded.success) notes.push({ kind: 'issues', path: [...path, key], issues: worded.error.issues });
  }
}

// --- mappings ----------------------------------------------------------------------------------

/** Known keys per context, for "did you mean …?" on unknown keys. */
export const KNOWN_KEYS = new Map<string, readonly string[]>();
/** Marks the message of an unknown-key issue with the context it happened in. */
export const CONTEXT_MARK = 'context:';

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type Empty = null | undefined;
type MaybeKeys<O> = {
  [K in keyof O]-?: Empty extends O[K] ? K : undefined extends O[K] ? K : never;
}[keyof O];
type Flat<T> = { readonly [K in keyof T]: T[K] };

type ValueOf<D> =
  D extends Field<infer S, infer I>
    ? I extends true
      ? Settled<z.output<S>> | undefined
      : Settled<z.output<S>>
    : D extends Schema
      ? Settled<z.output<D>>
      : never;
type Values<Sh> = { [K in keyof Sh]: ValueOf<Sh[K]> };

/** A mapping as the model first has it: camelCase keys, empty values left out, and its position. */
export type Built<Sh> = Flat<
  { [K in Exclude<keyof Values<Sh>, MaybeKeys<Values<Sh>>> as Camel<K & string>]: Values<Sh>[K] } & {
    [K in MaybeKeys<Values<Sh>> as Camel<K & string>]?: Exclude<Values<Sh>[K], Empty>;
  } & { at: Position }
>;

/** What a finishing function may ask about the mapping it finishes. */
export interface Origin<K extends string = string> {
  /** Where the key that holds the mapping is written, or where it starts. */
  readonly at: Position;
  /** Where the mapping starts. */
  readonly start: Position;
  /** Where `key` is written; `at` if it is not. */
  key(key: K): Position;
  /** The keys as they are written, in order. */
  keys(): string[];
  warn(at: Position, code: string, message: string): void;
  /** A rule over the finished node: the node is still built, and the file is not valid. */
  error(at: Position, code: string, message: string): void;
}

type Check = z.core.$ZodCheck<Readonly<Record<string, unknown>>>;

interface MappingOptions {
  /** Unknown keys are left to the caller (the top level and `definitions` may hold anchors). */
  readonly loose?: boolean;
  /** Unknown keys are reported without failing the mapping, so what it holds is still checked. */
  readonly unknownKeys?: 'report';
  /** Rules over the whole mapping. */
  readonly checks?: readonly Check[];
}

/** Turns a built mapping into its model node. */
export type Finish<Sh, M> = (built: Built<Sh>, origin: Origin<keyof Sh & string>) => M;

const camel = (key: string): string => key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** A mapping, built as it is declared. */
export function mapping<Sh extends Record<string, Declared>>(
  context: string,
  shape: Sh,
  options: MappingOptions = {},
): z.ZodMiniType<Built<Sh>, unknown> {
  return declareMapping<Sh, Built<Sh>>(context, shape, options);
}

/** A mapping that `finish` turns into its model node. */
export function mappingAs<Sh extends Record<string, Declared>, M>(
  context: string,
  shape: Sh,
  finish: Finish<Sh, M>,
  options: MappingOptions = {},
): z.ZodMiniType<M, unknown> {
  return declareMapping(context, shape, options, finish);
}

function declareMapping<Sh extends Record<string, Declared>, M>(
  context: string,
  shape: Sh,
  options: MappingOptions,
  finish?: Finish<Sh, M>,
): z.ZodMiniType<M, unknown> {
  KNOWN_KEYS.set(context, Object.keys(shape));
  const fields = Object.entries(shape).map(([key, declared]) => [key, fieldOf(declared)] as const);
  const strictness = options.loose || options.unknownKeys ? 'loose' : 'strict';
  const object = (fieldShape: Record<string, Schema>) => {
    const built =
      strictness === 'loose'
        ? z.looseObject(fieldShape)
        : z.strictObject(fieldShape, {
            error: (issue) => (issue.code === 'unrecognized_keys' ? `${CONTEXT_MARK}${context}` : undefined),
          });
    return options.checks ? built.check(...options.checks) : built;
  };
  // `full` finds every problem of a mapping that fails; `shallow` leaves isolated parts to themselves.
  const full = object(Object.fromEntries(fields.map(([key, field]) => [key, field.schema])));
  const shallow = object(
    Object.fromEntries(
      fields.map(([key, field]) => [key, field.isolated ? z.optional(z.unknown()) : field.schema]),
    ),
  );
  const isolatedFields = fields
    .filter(([, field]) => field.isolated)
    .map(([key, field]) => [key, field.schema] as const);

  const unknownKeys = (raw: Readonly<Record<string, unknown>>) => {
    const keys = Object.keys(raw).filter((key) => !Object.hasOwn(shape, key));
    const message = `${CONTEXT_MARK}${context}`;
    return keys.length > 0
      ? [{ code: 'unrecognized_keys' as const, keys, path: [], message, input: raw }]
      : [];
  };

  return z.transform((raw: unknown, ctx) => {
    const parsed = run(shallow, raw);
    const source = sourceOf(raw);
    const unknown = options.unknownKeys && isObject(raw) ? unknownKeys(raw) : [];
    if (parsed.issues.length > 0 || !isObject(raw) || !source)
      return forward(ctx, [...run(full, raw).issues, ...unknown]);
    const notes: Note[] = [];
    const values = new Map<string, unknown>();
    const data = parsed.value as Readonly<Record<string, unknown>>;
    for (const [key, field] of fields) if (!field.isolated) values.set(key, data[key]);
    isolate(isolatedFields, raw, source.path, values, notes);
    if (unknown.length > 0) notes.push({ kind: 'issues', path: source.path, issues: unknown });
    const at = source.key ?? source.at;
    const built: Record<string, unknown> = {};
    for (const [key, field] of fields) {
      const entry = source.entries.get(key);
      const value = settle(values.get(key), entry, entry?.value ?? at, notes);
      if (value === null || value === undefined) continue;
      warn(field.warn, value, entry?.key ?? at, notes);
      built[camel(key)] = value;
    }
    built.at = at;
    const origin: OriginRecord = { ...source, value: raw };
    if (!finish) return finished(built as M, notes, origin);
    return finished(finish(built as Built<Sh>, originFor(source, at, notes)), notes, origin);
  });
}

function originFor(source: Source | undefined, at: Position, notes: Note[]): Origin {
  return {
    at,
    start: source?.at ?? at,
    key: (key) => source?.entries.get(key)?.key ?? at,
    keys: () => [...(source?.entries.keys() ?? [])].map(String),
    warn: (where, code, message) => notes.push({ kind: 'warning', at: where, code, message }),
    error: (where, code, message) => notes.push({ kind: 'error', at: where, code, message }),
  };
}

// --- lists and records -------------------------------------------------------------------------

interface ListOptions<S extends Schema> {
  readonly nonEmpty?: boolean;
  readonly warn?: Warning<Settled<z.output<S>>>;
}

type Items<S extends Schema> = Settled<z.output<S>>[];

export function list<S extends Schema>(
  element: S,
  options: ListOptions<S> = {},
): z.ZodMiniType<Items<S>, unknown> {
  return declareList<S, Items<S>>(element, options);
}

/** A list that `finish` turns into its model node. */
export function listAs<S extends Schema, M>(
  element: S,
  finish: (items: Items<S>, origin: Origin<never>) => M,
  options: ListOptions<S> = {},
): z.ZodMiniType<M, unknown> {
  return declareList(element, options, finish);
}

function declareList<S extends Schema, M>(
  element: S,
  options: ListOptions<S>,
  finish?: (items: Items<S>, origin: Origin<never>) => M,
): z.ZodMiniType<M, unknown> {
  const inner = options.nonEmpty ? z.array(element).check(z.minLength(1)) : z.array(element);
  return z.transform((raw: unknown, ctx) => {
    const parsed = run(inner, raw);
    if (parsed.issues.length > 0) return forward(ctx, parsed.issues);
    const source = sourceOf(raw);
    const at = source?.key ?? source?.at ?? START;
    const notes: Note[] = [];
    const items = (parsed.value as unknown[]).map((item, index) => {
      const entry = source?.entries.get(index);
      const value = settle(item, entry, entry?.value ?? at, notes) as Items<S>[number];
      warn(options.warn, value, entry?.value ?? at, notes);
      return value;
    });
    if (!finish) return finished(items as M, notes);
    return finished(finish(items, originFor(source, at, notes)), notes);
  });
}

interface RecordOptions<S extends Schema> {
  /** Each entry is parsed on its own (see `isolated`). */
  readonly isolated?: boolean;
  readonly warn?: Warning<Settled<z.output<S>>>;
}

type Entries<S extends Schema> = Readonly<Record<string, Settled<z.output<S>>>>;

/** A mapping whose keys are names the file chooses; its entries in the order they are written. */
export function record<S extends Schema>(
  element: S,
  options: RecordOptions<S> = {},
): z.ZodMiniType<Entries<S>, unknown> {
  return declareRecord<S, Entries<S>>(element, options);
}

/** A record that `finish` turns into its model node; `origin.key(name)` is where an entry is named. */
export function recordAs<S extends Schema, M>(
  element: S,
  finish: (entries: Entries<S>, origin: Origin) => M,
  options: RecordOptions<S> = {},
): z.ZodMiniType<M, unknown> {
  return declareRecord(element, options, finish);
}

function declareRecord<S extends Schema, M>(
  element: S,
  options: RecordOptions<S>,
  finish?: (entries: Entries<S>, origin: Origin) => M,
): z.ZodMiniType<M, unknown> {
  const full = z.record(z.string(), element);
  return z.transform((raw: unknown, ctx) => {
    const source = sourceOf(raw);
    if (!isObject(raw) || !source) return forward(ctx, run(full, raw).issues);
    const notes: Note[] = [];
    const values = new Map<string, unknown>();
    const children = Object.keys(raw).map((key) => [key, element] as const);
    if (options.isolated) isolate(children, raw, source.path, values, notes);
    else {
      for (const [key] of children) {
        const result = run(element, raw[key]);
        if (result.issues.length > 0) return forward(ctx, run(full, raw).issues);
        values.set(key, result.value);
      }
    }
    const built: Record<string, Settled<z.output<S>>> = {};
    for (const [key, parsed] of values) {
      const entry = source.entries.get(key);
      const place = entry?.key ?? source.at;
      const value = settle(parsed, entry, place, notes) as Settled<z.output<S>>;
      warn(options.warn, value, place, notes);
      // defineProperty, so a key such as `__proto__` is an ordinary key.
      Object.defineProperty(built, key, { value, enumerable: true, writable: true, configurable: true });
    }
    if (!finish) return finished(built as M, notes);
    const at = source.key ?? source.at;
    return finished(finish(built, originFor(source, at, notes)), notes);
  });
}

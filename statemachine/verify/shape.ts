// What is known to be present in a JSON value: a tree of keys (array indices are keys too). A key
// maps to what is known below it; an empty tree is "present, nothing known inside". The analysis only
// ever needs "definitely present", so joins are intersections.

export type Shape = ReadonlyMap<string, Shape>;

export const LEAF: Shape = new Map();

/** The shape of a literal value: every key of every object and array in it. */
export function shapeOf(value: unknown): Shape {
  if (Array.isArray(value)) return new Map(value.map((item, i) => [String(i), shapeOf(item)]));
  if (typeof value === 'object' && value !== null)
    return new Map(Object.entries(value).map(([key, item]) => [key, shapeOf(item)]));
  return LEAF;
}

/** A shape whose keys are the given ones (objects of shapes, written compactly). */
export function shapeFrom(fields: Readonly<Record<string, Shape>>): Shape {
  return new Map(Object.entries(fields));
}

export function lookup(shape: Shape, keys: readonly string[]): Shape | undefined {
  let current: Shape | undefined = shape;
  for (const key of keys) {
    current = current.get(key);
    if (current === undefined) return undefined;
  }
  return current;
}

/** The shape with `value` at `keys`, creating the objects on the way as Step Functions' ResultPath does. */
export function withPath(shape: Shape, keys: readonly string[], value: Shape): Shape {
  const [key, ...rest] = keys;
  if (key === undefined) return value;
  const next = new Map(shape);
  next.set(key, withPath(shape.get(key) ?? LEAF, rest, value));
  return next;
}

/** What is present in both. Returns `a` itself when nothing is lost, so equal shapes stay identical. */
export function intersect(a: Shape, b: Shape): Shape {
  if (a === b) return a;
  let changed = false;
  const result = new Map<string, Shape>();
  for (const [key, below] of a) {
    const other = b.get(key);
    if (other === undefined) {
      changed = true;
      continue;
    }
    const both = intersect(below, other);
    if (both !== below) changed = true;
    result.set(key, both);
  }
  return changed ? result : a;
}

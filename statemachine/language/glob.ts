// Branch, tag and bookmark globs as Bitbucket reads them: `*` stays within a path segment, `**`
// crosses segments, `{a,b}` gives alternatives, `?` and `[…]` match one character. A leading `!`
// and extglobs such as `+(a)` are plain text (Bitbucket has neither), and `*` matches dots.
import picomatch from 'picomatch';

const OPTIONS: picomatch.PicomatchOptions = { dot: true, noextglob: true, nonegate: true };
const cache = new Map<string, (name: string) => boolean>();

function matcher(pattern: string): (name: string) => boolean {
  let match = cache.get(pattern);
  if (!match) {
    const compiled = picomatch(pattern, OPTIONS);
    match = (name: string) => compiled(name);
    if (cache.size > 10_000) cache.clear();
    cache.set(pattern, match);
  }
  return match;
}

/** How well a pattern fits a name; higher sorts first. */
export interface Specificity {
  /** The pattern is the name itself. */
  readonly exact: boolean;
  /** One `{…}` alternative is the name itself. */
  readonly exactAlternative: boolean;
  /** Characters the matching alternative spells out (not wildcards). */
  readonly literals: number;
  /** Wildcards in the matching alternative: `**` counts more than `*` or `?`. */
  readonly wildness: number;
}

/** Undefined when the pattern does not match; otherwise how specific the match is. */
export function matchGlob(pattern: string, name: string): Specificity | undefined {
  if (pattern === name) return { exact: true, exactAlternative: false, literals: name.length, wildness: 0 };
  if (!matcher(pattern)(name)) return undefined;
  // Score the most specific alternative that matches on its own.
  let best: Specificity | undefined;
  for (const alternative of expandBraces(pattern)) {
    if (alternative !== name && !matcher(alternative)(name)) continue;
    const score = scoreOf(alternative, name);
    if (!best || compareSpecificity(score, best) < 0) best = score;
  }
  return best ?? scoreOf(pattern, name);
}

function scoreOf(alternative: string, name: string): Specificity {
  if (alternative === name)
    return { exact: false, exactAlternative: true, literals: name.length, wildness: 0 };
  const doubleStars = alternative.match(/\*\*/g)?.length ?? 0;
  const singles =
    (alternative.replace(/\*\*/g, '').match(/[*?]/g)?.length ?? 0) +
    (alternative.match(/\[[^\]]*\]/g)?.length ?? 0);
  const literals = alternative.replace(/\[[^\]]*\]/g, '').replace(/[*?\\]/g, '').length;
  return { exact: false, exactAlternative: false, literals, wildness: doubleStars * 1000 + singles };
}

/** Negative when `a` is more specific than `b`. */
export function compareSpecificity(a: Specificity, b: Specificity): number {
  return (
    Number(b.exact) - Number(a.exact) ||
    Number(b.exactAlternative) - Number(a.exactAlternative) ||
    b.literals - a.literals ||
    a.wildness - b.wildness
  );
}

// `{a,b}` groups, nested or not, expanded into every alternative; only used to rank matches.
// Bounded: a pattern with more than `limit` combinations is scored as written.
export function expandBraces(pattern: string, limit = 256): string[] {
  return expand(pattern, limit) ?? [pattern];
}

function expand(pattern: string, limit: number): string[] | undefined {
  const open = pattern.indexOf('{');
  if (open === -1) return [pattern];
  let depth = 0;
  const commas: number[] = [];
  let close = -1;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      close = i;
      break;
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  if (close === -1 || commas.length === 0) return [pattern];
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const bounds = [open, ...commas, close];
  const results: string[] = [];
  for (let k = 0; k < bounds.length - 1; k++) {
    const part = pattern.slice((bounds[k] as number) + 1, bounds[k + 1]);
    const expanded = expand(head + part + tail, limit - results.length);
    if (!expanded) return undefined;
    results.push(...expanded);
    if (results.length > limit) return undefined;
  }
  return results;
}

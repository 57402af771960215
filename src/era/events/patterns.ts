/**
 * Event patterns `<class>.<type>` with `*` (e.g. `callevents.*`, `*.dlg_end`,
 * `ccsevents.call_*`). Compiled once per listener so that matching an event costs a couple
 * of string comparisons.
 */
import { EraError } from '../errors';

/** One side of a pattern: any value, an exact value, or a glob. */
type Part = null | string | RegExp;

export interface Pattern {
  source: string;
  cls: Part;
  type: Part;
}

const VALID = /^[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*-]+)?$/;
const TOPIC_PATTERN = /^[A-Za-z0-9_*-]+\.[A-Za-z0-9_*-]+$/;

/** A pattern written out in full as `<class>.<type>`, as node fields must give it. */
export function isTopicPattern(text: string): boolean {
  return TOPIC_PATTERN.test(text);
}

function part(text: string): Part {
  if (text === '*') return null;
  if (!text.includes('*')) return text;
  // VALID admits no regex metacharacter besides '*'.
  return new RegExp(`^${text.split('*').join('.*')}$`);
}

function partMatches(p: Part, value: string): boolean {
  return p === null || (typeof p === 'string' ? p === value : p.test(value));
}

/**
 * Parses patterns; a bare class (`callevents`) means all its types. Throws
 * ERA_INVALID_INPUT naming the first pattern that is not `<class>.<type>`.
 */
export function compilePatterns(sources: readonly string[]): Pattern[] {
  if (sources.length === 0) throw new EraError('ERA_INVALID_INPUT', 'No event patterns given: use for example callevents.*');
  return sources.map((raw) => {
    const source = raw.trim();
    if (!VALID.test(source)) {
      throw new EraError('ERA_INVALID_INPUT',
        `Event pattern "${raw}" is not <class>.<type>: use for example callevents.* or callevents.dlg_start`);
    }
    const dot = source.indexOf('.');
    const cls = dot < 0 ? source : source.slice(0, dot);
    const type = dot < 0 ? '*' : source.slice(dot + 1);
    return { source: dot < 0 ? `${cls}.*` : source, cls: part(cls), type: part(type) };
  });
}

export function matchesAny(patterns: readonly Pattern[], cls: string, type: string): boolean {
  for (let i = 0; i < patterns.length; i++) {
    const p = patterns[i]!;
    if (partMatches(p.cls, cls) && partMatches(p.type, type)) return true;
  }
  return false;
}

/**
 * The smallest sorted set of pattern strings covering `patterns` (a `class.*` makes the
 * class's exact patterns redundant), so that a subscription is re-sent only when what it
 * asks for really changed.
 */
export function unionOf(patterns: Iterable<Pattern>): string[] {
  const all = new Map<string, Pattern>();
  for (const p of patterns) all.set(p.source, p);
  if (all.has('*.*')) return ['*.*'];
  const wholeClasses = new Set<string>();
  for (const p of all.values()) if (typeof p.cls === 'string' && p.type === null) wholeClasses.add(p.cls);
  const out: string[] = [];
  for (const p of all.values()) {
    if (typeof p.cls === 'string' && p.type !== null && wholeClasses.has(p.cls)) continue;
    out.push(p.source);
  }
  return out.sort();
}

const cache = new Map<string, Pattern[] | null>();
const CACHE_MAX = 1000;

/**
 * Does one pattern match a topic `"<class>.<type>"`? For callers outside the client (a
 * node splitting its output by pattern); an invalid pattern matches nothing.
 */
export function matchesPattern(pattern: string, topic: string): boolean {
  let compiled = cache.get(pattern);
  if (compiled === undefined) {
    try {
      compiled = compilePatterns([pattern]);
    } catch {
      compiled = null;
    }
    // Patterns come from configuration and messages: bounded, but never trusted to be few.
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(pattern, compiled);
  }
  if (compiled === null) return false;
  const dot = topic.indexOf('.');
  return dot > 0 && matchesAny(compiled, topic.slice(0, dot), topic.slice(dot + 1));
}

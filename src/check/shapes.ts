/**
 * What the report may show of the platform's data: names and JSON types, never values. A
 * report is pasted into bug reports as is, so even names and the platform's own words pass
 * through `maskValues` first: an installation that keys an object by a phone number, or puts a
 * call id in an error text, must not leak it.
 */
import type { JsonObject } from '../era';

export type JsonType = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'null';

export function jsonType(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
    case 'bigint':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'object';
  }
}

const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const LONG_HEX = /\b(?=[0-9a-f]*\d)[0-9a-f]{16,}\b/gi;
const ADDRESS = /\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b/g;
/** Phone numbers, timestamps, numeric ids: five digits or more, a leading + kept out. */
const LONG_NUMBER = /\+?\d{5,}/g;
const NAME_MAX = 60;

/** A text from outside with what could be an id, a number or an address replaced by a placeholder. */
export function maskValues(text: string): string {
  return text.replace(UUID, '<id>').replace(LONG_HEX, '<id>').replace(ADDRESS, '<address>').replace(LONG_NUMBER, '<number>');
}

/** A text from outside, masked and on one line (a pasted line break would forge a line of the report). */
export function oneLine(text: string): string {
  return maskValues(text).replace(/[\x00-\x1f\x7f]/g, ' ');
}

/** A field name as shown: masked, one line, at most 60 characters. */
export function shownName(name: string): string {
  const flat = oneLine(name);
  return flat.length > NAME_MAX ? `${flat.slice(0, NAME_MAX - 1)}…` : flat;
}

/** At most this many fields per shape: an installation that sends thousands is described, not dumped. */
const FIELDS_KEPT = 200;

/** Field names seen over one or more objects, each with the union of the JSON types it had. */
export class FieldShapes {
  private readonly fields = new Map<string, Set<JsonType>>();
  /** Names beyond FIELDS_KEPT, counted (up to a bound) but not listed. */
  private readonly dropped = new Set<string>();
  /** Objects added. */
  count = 0;

  add(obj: JsonObject): void {
    this.count++;
    for (const key of Object.keys(obj)) {
      let types = this.fields.get(key);
      if (types === undefined) {
        if (this.fields.size >= FIELDS_KEPT) {
          if (this.dropped.size < 10 * FIELDS_KEPT) this.dropped.add(key);
          continue;
        }
        types = new Set();
        this.fields.set(key, types);
      }
      types.add(jsonType(obj[key]));
    }
  }

  has(name: string): boolean {
    return this.fields.has(name);
  }

  types(name: string): ReadonlySet<JsonType> | undefined {
    return this.fields.get(name);
  }

  /** `name type` pairs, sorted by name; a field seen with several types shows them joined by `|`. */
  describe(): string {
    const parts = [...this.fields.keys()].sort().map((name) => `${shownName(name)} ${[...this.fields.get(name)!].sort().join('|')}`);
    if (this.dropped.size > 0) parts.push(`… ${this.dropped.size} more not listed`);
    return parts.length === 0 ? '(no fields)' : parts.join(', ');
  }
}

/** The shape of one object, described at once. */
export function describeFields(obj: JsonObject): string {
  const shapes = new FieldShapes();
  shapes.add(obj);
  return shapes.describe();
}

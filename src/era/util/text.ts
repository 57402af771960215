/**
 * Putting outside values into sentences a person reads: quoted and cut short, control
 * characters escaped, durations in seconds, any thrown value as its message.
 */

const SHOWN_MAX = 60;

/** What kind of value this is, in words ("a list", "null", "the boolean true", "a number"). */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'boolean') return `the boolean ${String(value)}`;
  return `a ${typeof value}`;
}

/**
 * A value from a message as an error message shows it: text quoted and cut short, a number as
 * it is, anything else by its kind. Never throws (String() does, for some objects), and never
 * repeats a huge input back into a log line.
 */
export function shownValue(value: unknown): string {
  // A pasted line break or NUL is shown as \n or \u0000, not carried into a log line or a status.
  if (typeof value === 'string') return `"${clipText(value).replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1))}"`;
  if (typeof value === 'number') return String(value);
  return describeType(value);
}

/** Text cut to `max` characters, for error messages that repeat what they were given. */
export function clipText(text: string, max = SHOWN_MAX): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** "1.5 s" for a duration in a message. */
export function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** The message of anything thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The last word on what a report may contain. Every text that came from outside (the
 * platform's messages, the client's errors quoting them) goes through `Scrub.words`: the
 * password and token become `***` even when the platform echoes them, the login and domain
 * become placeholders, and ids and numbers are masked. The finished report and its output are
 * then checked once more for the secrets, raw and JSON-escaped.
 */
import type { Report } from './report';
import { maskValues } from './shapes';

export interface KnownValues {
  password?: string;
  token?: string;
  login?: string;
  domain?: string;
  /** The target's host[:port]: shown as it is (its port is not a number to mask). */
  host?: string;
}

export interface Scrub {
  /** A text from outside: secrets, login and domain replaced, ids and numbers masked. */
  words(text: string): string;
  /** Any text: the secrets replaced. */
  secrets(text: string): string;
}

/** Shorter values would blank out ordinary words and protect nothing (as the client's redactor). */
const SHORTEST = 4;

function replaceAll(text: string, value: string | undefined, by: string): string {
  return value !== undefined && value.length >= SHORTEST && text.includes(value) ? text.split(value).join(by) : text;
}

/** Both spellings of a secret an output can hold: as is, and escaped inside a JSON string. */
function spellings(secret: string | undefined): string[] {
  if (secret === undefined || secret.length < SHORTEST) return [];
  const escaped = JSON.stringify(secret).slice(1, -1);
  return escaped === secret ? [secret] : [secret, escaped];
}

export function makeScrub(known: KnownValues): Scrub {
  const all = [...spellings(known.password), ...spellings(known.token)];
  const secrets = (text: string): string => {
    let out = text;
    for (const secret of all) out = replaceAll(out, secret, '***');
    return out;
  };
  const mask = (text: string): string => (known.host ? text.split(known.host).map(maskValues).join(known.host) : maskValues(text));
  return {
    secrets,
    words: (text) => mask(replaceAll(replaceAll(secrets(text), known.login, '<login>'), known.domain, '<domain>')),
  };
}

/** The report with the secrets taken out of every summary and detail, whatever put them there. */
export function scrubReport(report: Report, scrub: Scrub): Report {
  return {
    ...report,
    steps: report.steps.map((step) => ({ ...step, summary: scrub.secrets(step.summary), details: step.details.map(scrub.secrets) })),
  };
}

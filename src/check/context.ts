/** What every step works with, and the small pieces they share. */
import { type EraClient, type JsonObject, replyError } from '../era';
import type { Recorder } from './recorder';
import type { StepStatus } from './report';
import type { Scrub } from './scrub';

export interface CheckContext {
  client: EraClient;
  recorder: Recorder;
  scrub: Scrub;
  authMode: 'user' | 'token';
  /** How long one answer may take. */
  timeoutMs: number;
}

/** A step's result before it is named. */
export interface StepResult {
  status: StepStatus;
  summary: string;
  details: string[];
}

export function result(status: StepStatus, summary: string, details: string[] = []): StepResult {
  return { status, summary, details };
}

/** `fail` when something failed, else `differs` when something differs, else `pass`. */
export function judged(failed: boolean, differences: readonly string[]): StepStatus {
  if (failed) return 'fail';
  return differences.length > 0 ? 'differs' : 'pass';
}

/** An error reply in the platform's own words, and whether it came as documented (`errormsg`). */
export interface PlatformRefusal {
  words: string;
  documented: boolean;
}

export function refusalIn(reply: JsonObject, okOnly: boolean, scrub: Scrub): PlatformRefusal | undefined {
  const error = replyError(reply, okOnly);
  if (error === undefined) return undefined;
  return { words: scrub.words(error.message), documented: typeof reply.errormsg === 'string' && reply.errormsg !== '' };
}

/** The sentence that names an error reply without `errormsg`. */
export function undocumentedError(method: string): string {
  return `${method}_result: an error reply without errormsg (documented: {"result": "error", "errormsg": ...})`;
}

export function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

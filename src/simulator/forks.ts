/**
 * Calls that ring several phones (era-platform.md §5.4): a ring group rings them all at once, a
 * queue (hunt group) one after another, both in ONE dialog whose forks each ring one phone.
 * This module holds what a fork is and reads a request's group or queue; the call model
 * (calls.ts) plays them.
 */
import { badRequest } from './errors';
import { requireNumber, sipCallId, sipTag } from './ids';
import type { SimFork } from './types';

export type ForkKind = 'group' | 'queue';

/** A fork: one phone rung by the dialog, with its own leg. */
export interface Fork {
  readonly phone: string;
  /** The fork's SIP Call-Id: `forkcallid`, and the `idcall` of its leg's ccsevents. */
  readonly callid: string;
  /** The tag the platform's side of the fork carries (`forklocaltag`). */
  readonly localtag: string;
  state: SimFork['state'];
}

export interface ForkPlan {
  readonly kind: ForkKind;
  readonly phones: readonly string[];
  /** How long each phone rings before the simulator moves on; 0 = until told. */
  readonly ringMs: number;
}

/** A call's forking: its plan, and the forks started so far (a queue's next phone is `phones[forks.length]`). */
export interface Forking extends ForkPlan {
  readonly forks: Fork[];
  /** The tag of the dialog's own (caller's) side, the same in every `fork_start` (`localtag`). */
  readonly localtag: string;
  /** The ring-time timer of the phone(s) ringing now. */
  timer?: NodeJS.Timeout;
}

/** More phones than any group has: a request beyond this is a mistake, not a group. */
const MAX_PHONES = 100;
/** An hour: the longest ring time taken. */
const MAX_RING_MS = 3_600_000;

export interface ForkRequest {
  group?: unknown;
  queue?: unknown;
  ringMs?: unknown;
}

/** What a request asks for: a group, a queue, or (undefined) one phone. Anything malformed is a 400. */
export function forkPlan({ group, queue, ringMs }: ForkRequest): ForkPlan | undefined {
  if (group !== undefined && queue !== undefined) throw badRequest('give "group" or "queue", not both');
  const kind: ForkKind | undefined = group !== undefined ? 'group' : queue !== undefined ? 'queue' : undefined;
  if (kind === undefined) {
    if (ringMs !== undefined) throw badRequest('"ringMs" needs "group" or "queue"');
    return undefined;
  }
  const list = kind === 'group' ? group : queue;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_PHONES) {
    throw badRequest(`"${kind}" must be an array of 1 to ${MAX_PHONES} phone numbers`);
  }
  const phones = list.map((phone: unknown, i) => requireNumber(phone, `${kind}[${i}]`));
  const twice = phones.find((phone, i) => phones.indexOf(phone) !== i);
  if (twice !== undefined) throw badRequest(`"${kind}" lists phone ${twice} twice`);
  if (ringMs !== undefined && (typeof ringMs !== 'number' || !Number.isInteger(ringMs) || ringMs < 1 || ringMs > MAX_RING_MS)) {
    throw badRequest(`"ringMs" must be a whole number of milliseconds from 1 to ${MAX_RING_MS}`);
  }
  return { kind, phones, ringMs: ringMs ?? 0 };
}

export function newFork(phone: string): Fork {
  return { phone, callid: sipCallId(), localtag: sipTag(), state: 'ring' };
}

export function forkingOf(plan: ForkPlan): Forking {
  return { ...plan, forks: [], localtag: sipTag() };
}

export function ringingForks(forking: Forking): Fork[] {
  return forking.forks.filter((f) => f.state === 'ring');
}

export function forkView(fork: Fork): SimFork {
  return { phone: fork.phone, forkcallid: fork.callid, state: fork.state };
}

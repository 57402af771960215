/**
 * At most one request presents a session (or token) that may have expired: the platform's ban
 * filter counts every request holding an unknown session (era-platform.md §2.1), so a burst
 * holding an expired one would get the address banned before the first 401 came back.
 *
 * A session is proven by the login that opened it and by each answer (anything but a 401) to
 * a request that presented it. It stays proven while requests keep going and answers keep
 * coming. It may have expired — and the next request goes alone, holding a place in the
 * address's ban budget, while the others wait for its answer — once nothing is in flight past
 * the turn of the event loop of the last answer (an expiry or a platform restart between two
 * requests cannot be seen), after a 401, after a request that got no answer, and after more
 * than 10 s without an answer.
 */
import { EraError } from '../errors';
import { seconds } from '../util/text';
import type { Attempt, Reservation } from './ban-budget';
import type { BanGuard } from './ban-guard';

/** After this long without an answer a session may have expired (a platform restart forgets sessions). */
export const QUIET_MS = 10_000;

/**
 * What a request that presented the session learnt: `proof` (answered, not 401), `stale` (401:
 * the platform does not know it), `unknown` (no answer: the platform may have restarted),
 * `neutral` (an answer that says nothing of the session), or a ban (with its Retry-After).
 */
export type PassOutcome = 'proof' | 'stale' | 'unknown' | 'neutral' | { retryAfterMs: number | undefined };

/** A request's leave to go; it must report what came back, exactly once. */
export interface Pass {
  settle(outcome: PassOutcome): void;
}

export interface GateDeps {
  guard: BanGuard;
  /** What the session is to the ban budget. */
  attempt: Attempt;
  host: string;
  closing: AbortSignal;
  /**
   * The session is lost: the platform refused it (or the same credentials elsewhere), or the
   * ban budget has no room left to present it. Its owner drops it (and logs in afresh, which
   * the budget keeps a place for).
   */
  lost(): void;
}

interface Waiter {
  resolve(pass: Pass | undefined): void;
  reject(err: EraError): void;
  timer: NodeJS.Timeout;
}

export class SessionGate {
  private proven: boolean;
  private lastAnswerAt: number;
  private inFlight = 0;
  private probing = false;
  private dropped = false;
  private drainCheck: NodeJS.Immediate | undefined;
  private readonly waiters = new Set<Waiter>();

  /** The pass of requests sent while the session is proven: one object for all, each settles it once. */
  private readonly fastPass: Pass = {
    settle: (outcome) => {
      this.inFlight--;
      if (outcome === 'proof') {
        this.lastAnswerAt = Date.now();
      } else if (outcome === 'stale') {
        this.d.guard.refused(this.d.attempt);
        this.lostNow();
      } else if (outcome === 'unknown') {
        this.proven = false;
      } else if (outcome !== 'neutral') {
        this.d.guard.banned(outcome.retryAfterMs);
        this.proven = false;
      }
      this.maybeDrained();
    },
  };

  /** `proven`: a login has just opened the session. */
  constructor(
    private readonly d: GateDeps,
    proven: boolean,
  ) {
    this.proven = proven;
    this.lastAnswerAt = proven ? Date.now() : 0;
    d.closing.addEventListener('abort', this.closed);
  }

  /** Whether the platform accepted the session within the last `ms`. */
  provenWithin(ms: number): boolean {
    return Date.now() - this.lastAnswerAt <= ms;
  }

  /**
   * A pass at once while the session is proven and nothing probes it; undefined when the
   * request must go through `enter()`. Throws while a ban lasts. The path of every request
   * while answers keep coming, so it allocates nothing.
   */
  now(): Pass | undefined {
    if (this.dropped) return undefined;
    const ban = this.d.guard.banRefusal();
    if (ban) throw ban;
    if (!this.proven || this.probing || Date.now() - this.lastAnswerAt > QUIET_MS) return undefined;
    this.inFlight++;
    return this.fastPass;
  }

  /**
   * Resolves when a request may present the session, with the pass it reports its answer on;
   * undefined once the session is dropped (its owner has a new one, or a failure). Throws
   * while a ban lasts, when the ban budget has no room, and after `timeoutMs` of waiting.
   */
  async enter(timeoutMs: number): Promise<Pass | undefined> {
    const pass = this.now();
    if (pass !== undefined || this.dropped) return pass;
    if (!this.probing) return this.probe();
    return new Promise<Pass | undefined>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new EraError('ERA_TIMEOUT', `No answer from ${this.d.host} within ${seconds(timeoutMs)}`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** The session is gone (refused, replaced, or its client closing): whoever waits takes the next one. */
  drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.d.closing.removeEventListener('abort', this.closed);
    for (const w of this.takeWaiters()) w.resolve(undefined);
  }

  private async probe(): Promise<Pass | undefined> {
    this.probing = true;
    let reservation: Reservation | 'refused' | 'no room';
    try {
      reservation = await this.d.guard.reserve(this.d.attempt, false);
    } catch (err) {
      this.probeEnded();
      throw err;
    }
    if (typeof reservation === 'string' || this.dropped) {
      if (typeof reservation !== 'string') reservation.settle('unanswered');
      this.probing = false;
      if (typeof reservation === 'string') this.lostNow();
      return undefined;
    }
    const held = reservation;
    this.inFlight++;
    let open = true;
    return {
      settle: (outcome) => {
        if (!open) return;
        open = false;
        this.inFlight--;
        if (outcome === 'proof') {
          held.settle('answered');
          this.proven = true;
          this.lastAnswerAt = Date.now();
          this.probing = false;
          // Those who waited go now, together, on the proof they waited for.
          for (const w of this.takeWaiters()) {
            this.inFlight++;
            w.resolve(this.fastPass);
          }
        } else if (outcome === 'stale') {
          held.settle('refused');
          this.probing = false;
          this.lostNow();
        } else {
          held.settle(outcome === 'unknown' || outcome === 'neutral' ? 'unanswered' : this.d.guard.banOutcome(outcome.retryAfterMs));
          this.probeEnded();
        }
        this.maybeDrained();
      },
    };
  }

  /**
   * Nothing in flight: the session is no longer proven once this turn of the event loop is
   * over. An expiry is only learnt of through I/O, so requests that follow the last answer
   * within its turn (a flow answering its own messages) are part of what it fed; anything
   * later may come after an expiry nothing could have seen.
   */
  private maybeDrained(): void {
    if (this.inFlight > 0 || this.drainCheck !== undefined) return;
    this.drainCheck = setImmediate(() => {
      this.drainCheck = undefined;
      if (this.inFlight === 0) this.proven = false;
    });
  }

  /**
   * The probe told nothing: the next in line probes. Those that need not wait — they fail at
   * once (a ban), or the session was proven meanwhile — go, and the next after them.
   */
  private probeEnded(): void {
    this.probing = false;
    while (!this.probing) {
      const next = this.takeWaiters(1)[0];
      if (next === undefined) return;
      // enter() runs to its first await at once: by then it is the probe, or done.
      this.enter(0).then(next.resolve, next.reject);
    }
  }

  private lostNow(): void {
    this.d.lost();
    this.drop();
  }

  private takeWaiters(count = Infinity): Waiter[] {
    const taken: Waiter[] = [];
    for (const w of this.waiters) {
      if (taken.length >= count) break;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      taken.push(w);
    }
    return taken;
  }

  private readonly closed = (): void => {
    for (const w of this.takeWaiters()) w.reject(new EraError('ERA_NOT_CONNECTED', 'The Era client is closed'));
  };
}

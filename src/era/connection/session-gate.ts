/**
 * At most one request presents a session (or token) that may have expired: the platform's ban
 * filter counts every request holding an unknown session (era-platform.md §2.1), so a burst
 * holding an expired one would get the address banned before the first 401 came back.
 *
 * A session is proven by the login that opened it and by each answer (anything but a 401 or a
 * 5xx) to a request that presented it. It may have expired after more than `quietMs` without
 * such an answer, after a request that presented it got no answer, and after the socket
 * dropped (the platform may have restarted and forgotten it). Then the next request goes alone (the probe), holding a place
 * in the address's ban budget, and the others wait for its answer. A 401 drops the session.
 */
import { EraError } from '../errors';
import type { Attempt, Reservation } from './ban-budget';
import type { BanGuard } from './ban-guard';
import type { Until } from './rest';

/**
 * What a request that presented the session learnt: `proof` (answered, not 401), `stale` (401:
 * the platform does not know it), `neutral` (an answer that says nothing of the session, a 5xx
 * a proxy may give), `unsent` (nothing of it reached the platform), `unanswered` (it may have
 * reached the platform, and no answer came), or a ban (with its Retry-After).
 */
export type PassOutcome = 'proof' | 'stale' | 'neutral' | 'unsent' | { unanswered: EraError } | { retryAfterMs: number | undefined };

/** A request's leave to present the session; it must report what came back, exactly once. */
export interface Pass {
  /** False once the session may not present it any more (dropped, or no longer proven): a request not written yet goes back to the gate. */
  readonly usable: boolean;
  settle(outcome: PassOutcome): void;
}

export interface GateDeps {
  guard: BanGuard;
  /** What the session is to the ban budget. */
  attempt: Attempt;
  /** How long without an answer before the session may have expired. */
  quietMs: number;
  /**
   * A session (true) is replaced by a login when lost, so when a probe goes unanswered it is
   * dropped and those waiting go to that one login; a token (false) cannot be replaced, so they
   * fail with it, unsent.
   */
  replaceable: boolean;
  closing: AbortSignal;
  /**
   * The session is lost: the platform refused it (or the same credentials elsewhere), the ban
   * budget has no room left to present it, or (replaceable) its probe got no answer. Its owner
   * drops it (and logs in afresh, which the budget keeps a place for).
   */
  lost(): void;
}

interface Waiter {
  resolve(pass: Pass | undefined): void;
  reject(err: EraError): void;
  /** The request's deadline, if it has one, and the timer that ends the wait then. */
  until: Until | undefined;
  timer: NodeJS.Timeout | undefined;
}

export class SessionGate {
  private proven: boolean;
  private lastAnswerAt: number;
  private probing = false;
  private dropped = false;
  private waiters: Waiter[] = [];

  /** The pass of requests sent while the session is proven: one object for all, each settles it once. */
  private readonly fastPass: Pass;

  /** `proven`: a login has just opened the session. */
  constructor(
    private readonly d: GateDeps,
    proven: boolean,
  ) {
    this.proven = proven;
    this.lastAnswerAt = proven ? Date.now() : 0;
    d.closing.addEventListener('abort', this.closed);
    const gate = this;
    this.fastPass = {
      // Written only while the session is still vouched for: a request that waited in the
      // pool's queue past an unanswered one or a quiet spell goes back to the gate instead of
      // presenting a session the platform may have forgotten.
      get usable() {
        return gate.live;
      },
      settle: (outcome) => this.settledFast(outcome),
    };
  }

  /** Whether the platform may still know the session: proven, and answered within the quiet time. */
  get live(): boolean {
    return !this.dropped && this.proven && Date.now() - this.lastAnswerAt <= this.d.quietMs;
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
    if (this.probing || !this.live) return undefined;
    return this.fastPass;
  }

  /**
   * Resolves when a request may present the session, with the pass it reports its answer on;
   * undefined once the session is dropped (its owner has a new one, or a failure). Throws
   * while a ban lasts, when the ban budget has no room, and as the probe it waited for failed
   * when that cannot be told from its own failure. A wait ends at `until.deadline` (epoch ms)
   * with `until.late()`: the request leaves the line, which the probes in front of it would
   * otherwise bound only one after another.
   */
  async enter(until?: Until): Promise<Pass | undefined> {
    const pass = this.now();
    if (pass !== undefined || this.dropped) return pass;
    if (!this.probing) return this.probe(until);
    return new Promise<Pass | undefined>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, until, timer: undefined };
      if (until !== undefined) {
        waiter.timer = setTimeout(() => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(until.late());
        }, Math.max(0, until.deadline - Date.now()));
      }
      this.waiters.push(waiter);
    });
  }

  /** The platform may have restarted (the socket dropped): the next request proves the session first. */
  doubt(): void {
    this.proven = false;
  }

  /** The session is gone (refused, replaced, or its client closing): whoever waits takes the next one. */
  drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.d.closing.removeEventListener('abort', this.closed);
    for (const w of this.takeWaiters()) w.resolve(undefined);
  }

  private settledFast(outcome: PassOutcome): void {
    if (outcome === 'proof') {
      this.proven = true;
      this.lastAnswerAt = Date.now();
    } else if (outcome === 'stale') {
      // After the first 401 nothing presents the session again; those already on their way
      // when it came back were counted by the platform all the same.
      this.d.guard.refused(this.d.attempt, this.dropped);
      if (!this.dropped) this.lostNow();
    } else if (typeof outcome === 'object') {
      if ('retryAfterMs' in outcome) this.d.guard.banned(outcome.retryAfterMs);
      this.proven = false;
    }
  }

  private async probe(until: Until | undefined): Promise<Pass | undefined> {
    this.probing = true;
    let reservation: Reservation | 'refused' | 'no room';
    // The probe's own request ran out of time waiting for a place: the next in line probes.
    let ownTimeout: EraError | undefined;
    const mine = until && { deadline: until.deadline, late: () => (ownTimeout = until.late()) };
    try {
      reservation = await this.d.guard.reserve(this.d.attempt, false, mine);
    } catch (err) {
      this.probing = false;
      if (err === ownTimeout) this.nextProbe();
      // A ban, a close, or attempts in flight that never ended: those waiting would meet the same.
      else for (const w of this.takeWaiters()) w.reject(err as EraError);
      throw err;
    }
    if (typeof reservation === 'string' || this.dropped) {
      if (typeof reservation !== 'string') reservation.settle('unanswered');
      this.probing = false;
      if (typeof reservation === 'string') this.lostNow();
      return undefined;
    }
    const held = reservation;
    let open = true;
    const gate = this;
    return {
      get usable() {
        return !gate.dropped;
      },
      settle: (outcome) => {
        if (!open) return;
        open = false;
        this.probing = false;
        if (outcome === 'proof') {
          held.settle('answered');
          this.proven = true;
          this.lastAnswerAt = Date.now();
          // Those who waited go now, together, on the proof they waited for.
          for (const w of this.takeWaiters()) w.resolve(this.fastPass);
        } else if (outcome === 'stale') {
          held.settle('refused');
          this.lostNow();
        } else if (outcome === 'neutral' || outcome === 'unsent') {
          held.settle('unanswered');
          this.nextProbe();
        } else if ('unanswered' in outcome) {
          // The platform may have counted it: never presented again.
          held.settle('unanswered');
          if (this.d.replaceable) {
            this.lostNow();
          } else {
            // Each fails in words of its own: it was not sent, and the time in the probe's words is the probe's.
            const cause = outcome.unanswered;
            const why = `Not sent: the request before it presented the same token and got no answer (${cause.message})`;
            for (const w of this.takeWaiters()) w.reject(new EraError(cause.code, why));
          }
        } else {
          held.settle(this.d.guard.banOutcome(outcome.retryAfterMs));
          this.nextProbe();
        }
      },
    };
  }

  /**
   * The probe told nothing: the next in line probes. Those that need not wait — they fail at
   * once (a ban), or the session was proven meanwhile — go, and the next after them.
   */
  private nextProbe(): void {
    while (!this.probing && !this.dropped) {
      const next = this.waiters.shift();
      if (next === undefined) return;
      clearTimeout(next.timer);
      // enter() runs to its first await at once: by then it is the probe, or done. Its time
      // goes on: in its wait for a place, then in its request.
      this.enter(next.until).then(next.resolve, next.reject);
    }
  }

  private lostNow(): void {
    this.d.lost();
    this.drop();
  }

  private takeWaiters(): Waiter[] {
    const taken = this.waiters;
    this.waiters = [];
    for (const w of taken) clearTimeout(w.timer);
    return taken;
  }

  private readonly closed = (): void => {
    for (const w of this.takeWaiters()) w.reject(new EraError('ERA_NOT_CONNECTED', 'The Era client is closed'));
  };
}

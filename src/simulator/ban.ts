/**
 * How a banned address is answered. The vendor documents the ban (era-platform.md §2.1) but not
 * its status codes, so the simulator plays each plausible answer, chosen by the `banRestStatus`
 * and `banUpgrade` options or, while it is set, the `banAnswer` fault.
 */
import type { Auth } from './auth';
import { errorBody } from './errors';
import type { FaultState } from './faults';
import type { HttpReply } from './http';
import { json } from './reply';
import type { BanRestStatus, BanUpgrade } from './types';

/** The platform's words for a ban: they say "banned", and for how long. */
export function banMessage(secondsLeft: number): string {
  return `address banned for ${secondsLeft} s after too many failed logins`;
}

export class BanAnswers {
  constructor(
    private readonly auth: Auth,
    private readonly faults: FaultState,
    private readonly defaults: { rest: BanRestStatus; upgrade: BanUpgrade },
  ) {}

  /** The answer to a REST request from `address`; undefined when it is not banned. */
  rest(address: string): HttpReply | undefined {
    const left = this.auth.banSecondsLeft(address);
    if (left === undefined) return undefined;
    return reply(this.faults.banAnswer?.rest ?? this.defaults.rest, left);
  }

  /**
   * The answer to a WebSocket upgrade from `address`; undefined lets it in: the address is not
   * banned, or the `open` variant lets in a socket that authorises in-band (`inBand`), whose
   * login then says it is banned. Elsewhere `open` answers 403.
   */
  upgrade(address: string, inBand: boolean): HttpReply | undefined {
    const left = this.auth.banSecondsLeft(address);
    if (left === undefined) return undefined;
    const variant = this.faults.banAnswer?.upgrade ?? this.defaults.upgrade;
    if (variant !== 'open') return reply(variant, left);
    return inBand ? undefined : reply(403, left);
  }
}

function reply(status: BanRestStatus, secondsLeft: number): HttpReply {
  return json(status, errorBody('banned', banMessage(secondsLeft)), status === 429 ? { 'Retry-After': String(secondsLeft) } : {});
}

/**
 * Without the `subscr` capability no event comes: a refusal is shown, and asked about again on
 * the same socket (roles change), from every 30 s to every 5 min. A later `setup` replaces what
 * the earlier one granted, so the re-ask names every capability the package uses, and its answer
 * replaces the whole list the client goes by.
 */
import { PACKAGE_CAPABILITIES, SETUP_METHOD, capabilityResults, setupParams } from '../protocol/setup';
import { Backoff } from '../util/backoff';
import { messageOf } from '../util/text';
import { refusal, type ConnectionSetup } from './handshake';
import type { JsonObject } from '../types';

const RETRY_MIN_MS = 30_000;
const RETRY_MAX_MS = 300_000;

export interface EventsCapabilityDeps {
  /** What the platform granted the current socket. */
  setup(): ConnectionSetup | undefined;
  /** The socket is open and set up. */
  isOpen(): boolean;
  request(method: string, params: JsonObject): Promise<JsonObject>;
  redact(text: string): string;
  debug(msg: string): void;
  /** `problem` changed: the connection's status shows it. */
  changed(): void;
  /** `subscr` is granted now, after a refusal: subscribe. */
  granted(): void;
}

export class EventsCapability {
  /** Why events cannot come although connected, in a few words; undefined while `subscr` is granted. */
  problem: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly backoff = new Backoff(RETRY_MIN_MS, RETRY_MAX_MS);

  constructor(private readonly d: EventsCapabilityDeps) {}

  /** A socket was set up: reads its grant afresh. */
  opened(): void {
    this.backoff.reset();
    this.check();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const refused = refusal(this.d.setup(), 'subscr');
    this.problem = refused === undefined ? undefined : `events refused (subscr): ${this.d.redact(refused)}`;
    this.d.changed();
    if (refused === undefined) return;
    this.timer = setTimeout(() => void this.askAgain(), this.backoff.next());
    this.timer.unref();
  }

  private async askAgain(): Promise<void> {
    this.timer = undefined;
    if (this.stopped || !this.d.isOpen()) return;
    try {
      const answer = capabilityResults(await this.d.request(SETUP_METHOD, setupParams(PACKAGE_CAPABILITIES)));
      const setup = this.d.setup();
      if (answer !== undefined && setup !== undefined) setup.capabilities = answer;
    } catch (err) {
      this.d.debug(`asking again for the subscr capability failed: ${messageOf(err)}`);
    }
    if (this.stopped || !this.d.isOpen()) return;
    this.check();
    if (this.problem === undefined) this.d.granted();
  }
}

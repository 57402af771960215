/**
 * While the platform bans this address, the connection's status counts down to the next try
 * ("banned by the platform, retry in 2:41"), each second, and says when the wait is over.
 */
import { minutesAndSeconds } from './ban-guard';

/** The connection's status while a ban is waited out: short, for a node's status line. */
function banStatus(msLeft: number): string {
  return `banned by the platform, retry in ${minutesAndSeconds(msLeft)}`;
}

export interface CountdownDeps {
  /** When the ban should end (ms timestamp); 0 when there is none. */
  endsAt(): number;
  /** Shows the countdown, each second. */
  show(detail: string): void;
  /** The ban is over: show the connection's own state again. */
  ended(): void;
}

export class BanCountdown {
  private timer: NodeJS.Timeout | undefined;
  private shown: string | undefined;

  constructor(private readonly d: CountdownDeps) {}

  /** What the countdown shows now, while it runs. */
  get detail(): string | undefined {
    return this.shown;
  }

  /** Shows the countdown (again) while a ban lasts; false when there is none. */
  run(): boolean {
    clearTimeout(this.timer);
    this.timer = undefined;
    const left = this.d.endsAt() - Date.now();
    if (left <= 0) {
      this.shown = undefined;
      return false;
    }
    this.shown = banStatus(left);
    this.d.show(this.shown);
    this.timer = setTimeout(() => {
      if (!this.run()) this.d.ended();
    }, Math.min(1000, left));
    this.timer.unref();
    return true;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.shown = undefined;
  }
}

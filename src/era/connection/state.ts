/**
 * The connection's state as a client shows it (`idle`, `connecting`, `connected`, `disconnected`,
 * `auth_failed`) and the few words with it: a connected socket's detail says what still keeps
 * events away — a ban being waited out, a refused `subscr`, a refused subscription.
 */
import type { SocketState } from './socket';

export type ClientState = 'idle' | SocketState | 'auth_failed';

export interface ConnectionStateDeps {
  /** Told every change. */
  changed(state: ClientState, detail: string | undefined): void;
  /** What a connected socket's detail says first, second: the ban countdown, refused events. */
  banDetail(): string | undefined;
  eventsProblem(): string | undefined;
}

export class ConnectionState {
  state: ClientState = 'idle';
  detail: string | undefined;
  private subscriptionProblem: string | undefined;
  private frozen = false;

  constructor(private readonly d: ConnectionStateDeps) {}

  set(state: ClientState, detail?: string): void {
    if (this.frozen || this.state === 'auth_failed') return; // for good, until the configuration changes
    if (state === this.state && detail === this.detail) return;
    this.state = state;
    this.detail = detail;
    this.d.changed(state, detail);
  }

  /** Connected, with what it says besides. */
  connected(): void {
    this.set('connected', this.d.banDetail() ?? this.d.eventsProblem() ?? this.subscriptionProblem);
  }

  /** What a connected socket says changed: shown at once while connected. */
  refresh(): void {
    if (this.state === 'connected') this.connected();
  }

  /** A subscription is refused (a sentence), or all are fine again (undefined). */
  subscriptions(problem: string | undefined): void {
    this.subscriptionProblem = problem;
    this.refresh();
  }

  /** The client closes: no change is told any more. */
  freeze(): void {
    this.frozen = true;
  }
}

/**
 * What keeps the client's one socket open: listeners (their subscriptions), followers of the call
 * table (its passive subscription), and requests over the socket while they run. When nothing
 * does, the socket closes after a linger — a redeploy closes a flow's nodes and starts their
 * successors a moment later, and they should find the socket (and the call table) still there.
 */
import { CALL_TABLE_EVENTS } from '../protocol/call-events';
import type { Listener, Subscriptions } from './subscriptions';

export interface SocketUseDeps {
  subscriptions: Subscriptions;
  socket: { readonly active: boolean; start(): void; stop(): Promise<void> };
  lingerMs: number;
  /** False once the client closes or its authentication failed for good: the socket stays shut. */
  usable(): boolean;
  /** The socket closed for want of users: the call table would silently go stale. */
  idle(): void;
}

export class SocketUse {
  private borrowed = 0;
  private followers = 0;
  private tracker: Listener | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(private readonly d: SocketUseDeps) {}

  /** Someone follows the call table (msg.call, a call log, live figures). */
  get following(): boolean {
    return this.followers > 0;
  }

  /** One more (+1) or one fewer (-1) follower of the call table: its subscription is open while any is. */
  follow(delta: number): void {
    this.followers += delta;
    if (this.followers > 0 && this.tracker === undefined) {
      this.tracker = this.d.subscriptions.add({ events: CALL_TABLE_EVENTS, passive: true }, () => undefined);
    } else if (this.followers === 0 && this.tracker !== undefined) {
      this.d.subscriptions.remove(this.tracker);
      this.tracker = undefined;
    }
  }

  /** Runs `use` with the socket open for it. */
  async borrow<T>(use: () => Promise<T>): Promise<T> {
    this.borrowed++;
    this.update();
    try {
      return await use();
    } finally {
      this.borrowed--;
      this.update();
    }
  }

  /** A handle whose close() undoes a registration once, then lets the socket go if unused. */
  handle(undo: () => void): { close(): void } {
    let open = true;
    return {
      close: () => {
        if (!open) return;
        open = false;
        undo();
        this.update();
      },
    };
  }

  /** Opens the socket while someone needs it; closes it a linger after nobody does. */
  update(): void {
    if (!this.d.usable()) return;
    if (this.d.subscriptions.size > 0 || this.borrowed > 0) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      if (!this.d.socket.active) this.d.socket.start();
    } else if (this.d.socket.active && this.lingerTimer === undefined) {
      this.lingerTimer = setTimeout(() => this.lingerEnded(), this.d.lingerMs);
      this.lingerTimer.unref();
    }
  }

  close(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.tracker = undefined;
    this.followers = 0;
  }

  private lingerEnded(): void {
    this.lingerTimer = undefined;
    if (!this.d.usable() || this.d.subscriptions.size > 0 || this.borrowed > 0) return;
    void this.d.socket.stop();
    this.d.idle();
  }
}

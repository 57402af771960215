import { MAX_TIMER_MS } from '../../era';

/**
 * Many waits with one timer: entries sit in a binary heap ordered by deadline and a single
 * timeout is armed for the earliest one, so 1,000 waits cost one timer, not 1,000.
 * Each entry knows its place in the heap, so a wait that ends early leaves at once (O(log n))
 * and the queue holds nothing of it afterwards: a wait with a day's timeout that ends after a
 * second must not keep its message for a day.
 */
export interface Deadline {
  readonly at: number;
  /** The entry's index in the heap, -1 while it is not queued. Kept by the queue. */
  slot: number;
}

export class DeadlineQueue<T extends Deadline> {
  private readonly heap: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  constructor(private readonly onExpired: (entry: T) => void) {}

  get size(): number {
    return this.heap.length;
  }

  add(entry: T): void {
    entry.slot = this.heap.length;
    this.heap.push(entry);
    this.up(entry.slot);
    if (entry.at < this.armedFor) this.arm();
  }

  /** Takes an entry out before its deadline; false when it was not queued (expired or removed). */
  remove(entry: T): boolean {
    const i = entry.slot;
    const h = this.heap;
    if (i < 0 || h[i] !== entry) return false;
    entry.slot = -1;
    const last = h.pop() as T;
    if (last !== entry) {
      h[i] = last;
      last.slot = i;
      this.down(i);
      this.up(last.slot);
    }
    // A timer armed for an earlier entry just fires early and re-arms; an empty queue keeps none.
    if (h.length === 0) this.disarm();
    return true;
  }

  /** Stops the timer; entries not yet expired are dropped without a callback. */
  clear(): void {
    for (const entry of this.heap) entry.slot = -1;
    this.heap.length = 0;
    this.disarm();
  }

  private up(from: number): void {
    const h = this.heap;
    let i = from;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent].at <= h[i].at) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(from: number): void {
    const h = this.heap;
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l].at < h[m].at) m = l;
      if (r < h.length && h[r].at < h[m].at) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    const h = this.heap;
    [h[a], h[b]] = [h[b], h[a]];
    h[a].slot = a;
    h[b].slot = b;
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private arm(): void {
    this.disarm();
    if (this.heap.length === 0) return;
    this.armedFor = this.heap[0].at;
    // A deadline further than a timer can wait is reached in steps: expire() takes only what is due.
    this.timer = setTimeout(() => this.expire(), Math.min(MAX_TIMER_MS, Math.max(0, this.armedFor - Date.now())));
  }

  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    while (this.heap.length > 0 && this.heap[0].at <= now) {
      const entry = this.heap[0];
      this.remove(entry);
      this.onExpired(entry);
    }
    this.arm();
  }
}

/**
 * Many waits with one timer: entries sit in a binary heap ordered by deadline and a single
 * timeout is armed for the earliest one, so 1,000 waits cost one timer, not 1,000.
 * Cancelled entries stay in the heap until they surface (lazy deletion keeps cancel O(1)).
 */
export interface Deadline {
  readonly at: number;
  cancelled: boolean;
}

export class DeadlineQueue<T extends Deadline> {
  private readonly heap: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  constructor(private readonly onExpired: (entry: T) => void) {}

  add(entry: T): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent].at <= h[i].at) break;
      [h[parent], h[i]] = [h[i], h[parent]];
      i = parent;
    }
    if (entry.at < this.armedFor) this.arm();
  }

  /** Stops the timer; entries not yet expired are dropped without a callback. */
  clear(): void {
    this.heap.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private pop(): T | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].at < h[m].at) m = l;
        if (r < h.length && h[r].at < h[m].at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.heap.length > 0 && this.heap[0].cancelled) this.pop();
    if (this.heap.length === 0) {
      this.armedFor = Infinity;
      return;
    }
    this.armedFor = this.heap[0].at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, this.armedFor - Date.now()));
  }

  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    while (this.heap.length > 0 && this.heap[0].at <= now) {
      const entry = this.pop() as T;
      if (entry.cancelled) continue;
      entry.cancelled = true;
      this.onExpired(entry);
    }
    this.arm();
  }
}

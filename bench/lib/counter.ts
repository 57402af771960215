/** A running count that can be awaited: resolves when it reaches a total, rejects on a deadline. */
export class Counter {
  private n = 0;
  private waiters: Array<{ total: number; resolve(): void }> = [];

  get value(): number {
    return this.n;
  }

  add(): void {
    this.n++;
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (this.n < w.total) return true;
      w.resolve();
      return false;
    });
  }

  reach(total: number, timeoutMs: number): Promise<void> {
    if (this.n >= total) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`count is ${this.n}, not ${total}, after ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        total,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }
}

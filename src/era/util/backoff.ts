/**
 * Exponential backoff with full jitter: the n-th delay is uniform in [0, min(max, min·2ⁿ)).
 * Jitter spreads the reconnects of many clients after a server restart instead of having
 * them all knock at the same instant.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {}

  /** `ceilingMs` lowers the maximum for this one delay. */
  next(ceilingMs = this.maxMs): number {
    const cap = Math.min(this.maxMs, ceilingMs, this.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.random() * cap;
  }

  reset(): void {
    this.attempt = 0;
  }
}

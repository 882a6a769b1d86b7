/** Retry pacing and rate limits, shared by the city link, live video pulls and anything else that retries or meters. */

/**
 * Exponential backoff with jitter: each failure doubles the ceiling up to `maxMs`, and the wait is drawn from
 * the upper half of it so that many schools cut off by the same outage do not all come back in the same second.
 * A success resets it, so the next failure starts small again.
 */
export class Backoff {
  private failures = 0;
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  reset(): void {
    this.failures = 0;
  }

  get attempts(): number {
    return this.failures;
  }
}

/** Token bucket in bytes/s; a rate of 0 means unlimited. Burst is one second's worth. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly ratePerS: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = ratePerS;
    this.last = now();
  }

  /** Takes `n` tokens and returns 0, or returns how many ms to wait before asking again. */
  take(n: number): number {
    if (this.ratePerS <= 0) return 0;
    const t = this.now();
    this.tokens = Math.min(this.ratePerS, this.tokens + ((t - this.last) * this.ratePerS) / 1000);
    this.last = t;
    // A message larger than the burst goes once the bucket is full, leaving it in debt.
    const need = Math.min(n, this.ratePerS);
    if (this.tokens >= need) {
      this.tokens -= n;
      return 0;
    }
    return Math.max(1, Math.ceil(((need - this.tokens) * 1000) / this.ratePerS));
  }
}

/** Retry pacing and rate limits, shared by cloud sync (bytes/s) and notifications (messages per channel). */

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

/**
 * Token bucket: `ratePerS` tokens (bytes, messages) a second; a rate of 0 means unlimited. Burst is one second's worth
 * unless given (a WeCom bot's 20 a minute is a rate of 1/3 with a burst of 20).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly burst: number;
  constructor(
    private readonly ratePerS: number,
    private readonly now: () => number = () => performance.now(),
    burst?: number,
  ) {
    this.burst = burst ?? ratePerS;
    this.tokens = this.burst;
    this.last = now();
  }

  /** Takes `n` tokens and returns 0, or returns how many ms to wait before asking again. */
  take(n: number): number {
    if (this.ratePerS <= 0) return 0;
    const t = this.now();
    // A clock that went back (a wall clock stepped by NTP on a box without a real-time clock) refills nothing, and
    // takes nothing either: counted as negative time, it left the bucket in debt, and its user waiting, as long as it
    // went back.
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, t - this.last) * this.ratePerS) / 1000);
    this.last = t;
    // A message larger than the burst goes once the bucket is full, leaving it in debt.
    const need = Math.min(n, this.burst);
    if (this.tokens >= need) {
      this.tokens -= n;
      return 0;
    }
    return Math.max(1, Math.ceil(((need - this.tokens) * 1000) / this.ratePerS));
  }
}

/**
 * Failed MQTT logins per client address: the first refusal is answered at once (a typo), each later one is held
 * back twice as long as the one before (from `baseDelayMs` up to `maxDelayMs`), and the `maxFailures`th refuses
 * every login from that address for `blockS`, the right password included, without checking it (no scrypt spent on
 * a guesser). A failure is forgotten after `blockS` without another.
 *
 * A successful login does not wipe the count: one valid device login would otherwise buy a guesser on the same
 * address a fresh set of tries for any other account. A device with the right secret is not held back either way
 * (only refusals are delayed), unless its address is blocked.
 */

export interface LoginBackoffOptions {
  maxFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  blockS: number;
}

/** A login refused because its address is blocked after too many failures. */
export class LoginBlockedError extends Error {
  readonly code = 'login_backoff';
  constructor(readonly retryInMs: number) {
    super(`too many failed logins from this address; retry in ${Math.ceil(retryInMs / 1000)} s`);
  }
}

interface Entry {
  failures: number;
  lastFailure: number;
  blockedUntil: number;
}

/** Addresses remembered at most; a LAN has far fewer, a flood of spoofed sources is bounded anyway. */
const MAX_ADDRESSES = 10_000;

export class LoginBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly opts: LoginBackoffOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Runs one login attempt from `address`: rejects with LoginBlockedError at once while the address is blocked;
   * otherwise runs `attempt`, and if it fails, rejects with its error after the delay this failure earns.
   */
  async attempt<T>(address: string, attempt: () => Promise<T>): Promise<T> {
    const blocked = this.blockedFor(address);
    if (blocked > 0) throw new LoginBlockedError(blocked);
    try {
      return await attempt();
    } catch (err) {
      const delay = this.failed(address);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay).unref());
      throw err;
    }
  }

  /** Milliseconds the address stays blocked (0: not blocked). */
  blockedFor(address: string): number {
    const e = this.entries.get(address);
    if (!e) return 0;
    const t = this.now();
    if (e.blockedUntil > t) return e.blockedUntil - t;
    if (e.blockedUntil > 0 || t - e.lastFailure > this.opts.blockS * 1000) this.entries.delete(address);
    return 0;
  }

  /** Records a failure; returns how long to hold back its refusal. */
  failed(address: string): number {
    const t = this.now();
    let e = this.entries.get(address);
    if (!e || t - e.lastFailure > this.opts.blockS * 1000) e = { failures: 0, lastFailure: t, blockedUntil: 0 };
    e.failures++;
    e.lastFailure = t;
    // Re-inserted so the map's order is least recently failed first, which is what gets dropped when full.
    this.entries.delete(address);
    if (this.entries.size >= MAX_ADDRESSES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(address, e);
    if (e.failures >= this.opts.maxFailures) {
      e.blockedUntil = t + this.opts.blockS * 1000;
      return 0;
    }
    return e.failures < 2 ? 0 : Math.min(this.opts.baseDelayMs * 2 ** (e.failures - 2), this.opts.maxDelayMs);
  }
}

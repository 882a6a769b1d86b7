/**
 * How fast one device login may publish (`mqtt.publishRatePerDevice`). A reader taps a few times a second and a
 * sensor reports every few seconds; a device whose secret leaked could otherwise send taps or readings as fast as the
 * gateway decides and stores them, each one a row, and crowd out every other reader's decisions. The ACL already
 * confines it to its own topics; this bounds how many it may send there.
 *
 * One token bucket per device id, shared by all its connections: reconnecting does not buy a fresh burst.
 * Services and anonymous clients (demo mode) have no budget: services are trusted like the gateway, and anonymous
 * clients cannot be told apart.
 */
import type { GatewayConfig } from '../../config/schema.js';
import type { Identity } from './acl.js';

export type PublishRateLimits = GatewayConfig['mqtt']['publishRatePerDevice'];

/** One device's budget: `burst` messages at once, refilled at `messagesPerS`. */
export class PublishBudget {
  private tokens: number;
  private at: number;
  private readonly perMs: number;

  constructor(
    private readonly limits: PublishRateLimits,
    private readonly now: () => number,
  ) {
    this.tokens = limits.burst;
    this.at = now();
    this.perMs = limits.messagesPerS / 1000;
  }

  /** Takes one message's worth; false (nothing taken) while the device is over its rate. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.limits.burst, this.tokens + (t - this.at) * this.perMs);
    this.at = t;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

export class PublishRates {
  /** At most one per configured device: only they log in as devices. */
  private readonly budgets = new Map<string, PublishBudget>();

  constructor(
    private readonly limits: PublishRateLimits,
    /** Monotonic: a wall clock set back would stall every device's refill. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The budget a login publishes under, or undefined when it is not limited (services, anonymous clients). */
  budgetOf(who: Identity): PublishBudget | undefined {
    if (who.kind !== 'device') return undefined;
    let budget = this.budgets.get(who.id);
    if (!budget) this.budgets.set(who.id, (budget = new PublishBudget(this.limits, this.now)));
    return budget;
  }
}

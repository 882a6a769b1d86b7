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
import { levelsMatch } from '../core/mqtt-port.js';
import { TokenBucket } from '../core/pacing.js';
import { topicFilters } from '../core/topics.js';

export type PublishRateLimits = GatewayConfig['mqtt']['publishRatePerDevice'];

/**
 * One device's budget: `burst` messages at once, refilled at `messagesPerS` (the shared token bucket). A message that
 * costs more than the burst (an offline upload where a school set a small burst) goes once the bucket is full and
 * leaves it in debt: cut to the burst, it cost less than its size said.
 */
export class PublishBudget {
  private readonly bucket: TokenBucket;

  constructor(limits: PublishRateLimits, now: () => number) {
    this.bucket = new TokenBucket(limits.messagesPerS, now, limits.burst);
  }

  /** Takes `cost` messages' worth; false (nothing taken) while the device is over its rate. */
  take(cost = 1): boolean {
    return this.bucket.take(Math.max(1, cost)) === 0;
  }
}

/** What one offline-upload KiB counts as: a tap's worth of the gateway's work (~14 sales of ~70 bytes). */
const OFFLINE_UPLOAD_BYTES_PER_MESSAGE = 1024;
/**
 * A sale is reckoned at least this many bytes, as a terminal writes one: `{"uid":"1","seq":0,"amount":1,"at":1}` is 38,
 * and counted by its bytes alone 500 of them cost 20 messages where a terminal's batch costs ~35 (an attacker review,
 * 2026-12-07). Each sale is a JSON object, so its `{` is counted: a brace inside a string only raises the cost.
 */
const OFFLINE_SALE_MIN_BYTES = 70;
const OPEN_BRACE = 0x7b;
const OFFLINE_UPLOAD_LEVELS = topicFilters.readerOfflineUploads.split('/');
const OFFLINE_UPLOAD_SUFFIX = `/${OFFLINE_UPLOAD_LEVELS.at(-1)!}`;

/**
 * What a publish costs in the device's budget: one message, but an offline upload one per KiB, each sale counted as
 * OFFLINE_SALE_MIN_BYTES at least. A batch of 500 sales is one message and 500 lookups and inserts in one synchronous
 * transaction (tens of ms of the thread that decides every gate): counted as one, a leaked terminal secret kept the
 * gateway busy recording sales (an attacker review, 2026-12-07). A full batch (~35 KiB) so costs ~35 taps, however
 * short its sales are written.
 */
export function publishCost(topic: string, payload: Buffer | string): number {
  // Every device message comes through here: the suffix test first, so a tap or a reading splits nothing.
  if (!topic.endsWith(OFFLINE_UPLOAD_SUFFIX) || !levelsMatch(OFFLINE_UPLOAD_LEVELS, topic.split('/'))) return 1;
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  let objects = 0;
  for (let i = bytes.indexOf(OPEN_BRACE); i !== -1; i = bytes.indexOf(OPEN_BRACE, i + 1)) objects++;
  return Math.ceil(Math.max(bytes.length, objects * OFFLINE_SALE_MIN_BYTES) / OFFLINE_UPLOAD_BYTES_PER_MESSAGE);
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

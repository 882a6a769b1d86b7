/**
 * How many doors each user may open remotely: `controllers.remoteOpensPerMinute` at once, then one every 60/N s, across
 * all doors. A stolen session or a script could otherwise open every gate again and again, each open one UDP packet.
 * Refusals are counted (`campus_controller_remote_opens_refused_total`) and logged, at most a line a minute per user.
 */
import { GatewayError } from '../../../gateway/core/errors.js';
import type { Logger } from '../../../gateway/core/logger.js';
import type { MetricFactory } from '../../../gateway/core/metrics.js';
import { TokenBucket } from '../../../gateway/core/pacing.js';
import { RateLimitedLog } from '../../../gateway/core/rate-limited-log.js';

export class RateLimitedError extends GatewayError {
  constructor(
    message: string,
    /** Whole seconds until the next open is allowed, for the Retry-After header. */
    readonly retryAfterS: number,
  ) {
    super('rate_limited', message, 429);
    this.name = 'RateLimitedError';
  }
}

export interface OpenLimitOptions {
  perMinute: number;
  metrics: MetricFactory;
  log: Logger;
  /** The gateway's clock, for the log's one line a minute. */
  now: () => number;
}

export class RemoteOpenLimit {
  /** One bucket per user who opened a door: admin and security accounts, a handful, so the map is never pruned. */
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly refused;
  private readonly log: RateLimitedLog;

  constructor(private readonly opts: OpenLimitOptions) {
    this.refused = opts.metrics.counter('campus_controller_remote_opens_refused_total', 'Remote door opens refused: the user was past controllers.remoteOpensPerMinute');
    this.log = new RateLimitedLog(opts.log, opts.now);
  }

  /** Counts one open by `username`, or throws RateLimitedError (nothing counted) when they are past the limit. */
  take(username: string, accessPoint: string): void {
    let bucket = this.buckets.get(username);
    if (!bucket) {
      // The bucket's own monotonic clock, not the gateway's: a wall clock stepped forward (NTP after a power cut
      // without a real-time clock, or someone setting it) would refill the bucket at once, as many times as it moved.
      bucket = new TokenBucket(this.opts.perMinute / 60, undefined, this.opts.perMinute);
      this.buckets.set(username, bucket);
    }
    const waitMs = bucket.take(1);
    if (waitMs === 0) return;
    const retryAfterS = Math.ceil(waitMs / 1000);
    this.refused.inc();
    this.log.warn(`remote_open:${username}`, { by: username, accessPoint, retryAfterS, perMinute: this.opts.perMinute }, 'remote door open refused: too many by this user');
    throw new RateLimitedError(
      `${username} has made the ${this.opts.perMinute} remote door opens a minute allowed (controllers.remoteOpensPerMinute); the next one in ${retryAfterS} s`,
      retryAfterS,
    );
  }
}

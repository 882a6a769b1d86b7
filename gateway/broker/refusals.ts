import type { Counter } from 'prom-client';
import type { Logger } from '../core/logger.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';

/** Why the broker closed a connection or refused a login, publish or subscription (`campus_mqtt_refused_total{reason}`). */
export type LimitRefusal =
  | 'auth'
  | 'packet_too_large'
  | 'malformed_packet'
  | 'unauthenticated_data'
  | 'connect_timeout'
  | 'too_many_pending'
  | 'login_backoff'
  | 'retained_quota'
  | 'subscription_quota'
  | 'publish_rate'
  | 'publish'
  | 'subscribe';

/**
 * Counts every refusal and logs it at most once a minute per reason and client address: a flood from one address
 * must not turn into a flood of log lines (the next line says how many were left out).
 */
export class Refusals {
  private readonly log: RateLimitedLog;

  constructor(
    private readonly counter: Counter<'reason'>,
    log: Logger,
    now: () => number = Date.now,
  ) {
    this.log = new RateLimitedLog(log, now);
  }

  refuse(reason: LimitRefusal, fields: { address?: string | undefined; clientId?: string | null | undefined; [k: string]: unknown }, message: string): void {
    this.counter.inc({ reason });
    this.log.warn(`${reason}\0${fields.address ?? ''}`, { reason, ...fields }, message);
  }
}

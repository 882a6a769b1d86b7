import type { Counter } from 'prom-client';
import type { Logger } from '../core/logger.js';

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
  | 'subscription_quota';

const LOG_EVERY_MS = 60_000;
const MAX_KEYS = 4096;

/**
 * Counts every refusal and logs it at most once a minute per reason and client address: a flood from one address
 * must not turn into a flood of log lines (the next line says how many were left out).
 */
export class Refusals {
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly counter: Counter<'reason'>,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  refuse(reason: LimitRefusal, fields: { address?: string | undefined; clientId?: string | null | undefined; [k: string]: unknown }, message: string): void {
    this.counter.inc({ reason });
    const key = `${reason}\0${fields.address ?? ''}`;
    const t = this.now();
    const seen = this.lastLogged.get(key);
    if (seen && t - seen.at < LOG_EVERY_MS) {
      seen.suppressed++;
      return;
    }
    if (!seen && this.lastLogged.size >= MAX_KEYS) this.prune(t);
    this.lastLogged.set(key, { at: t, suppressed: 0 });
    this.log.warn({ reason, ...fields, ...(seen?.suppressed ? { suppressedSinceLast: seen.suppressed } : {}) }, message);
  }

  private prune(t: number): void {
    for (const [key, v] of this.lastLogged) if (t - v.at >= LOG_EVERY_MS) this.lastLogged.delete(key);
    // Still full (a flood from thousands of addresses within a minute): start over rather than grow.
    if (this.lastLogged.size >= MAX_KEYS) this.lastLogged.clear();
  }
}

/**
 * The time retention deletes by (personal data, sensor history). A Raspberry Pi has no real-time clock: after a power
 * cut it may run a year ahead until NTP answers, and by that clock every tap is past its 180 days. So while nothing
 * trustworthy confirms the wall clock (the host's NTP, or the city's clock over verified HTTPS: not the cameras,
 * which anyone at their address can play), retention's time is the last confirmed (or first seen) time plus the time
 * the gateway has run since, by the monotonic clock, which no jump of the wall clock moves. It is kept in `meta`
 * across restarts, so a chain of restarts on a wrong clock adds only the time run.
 *
 * What that costs: where nothing ever confirms the clock, retention runs late by the time the box was off.
 * What it never does: delete early, whatever the wall clock, a new row stamped by it, or a hostile camera says.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Database } from './db.js';
import { getMeta, setMeta } from './meta.js';

const KEY = 'retention.clock';
const HOUR = 3_600_000;

export class RetentionClock implements Clock {
  /** The last time known good (or the first seen), and the monotonic reading then. */
  private base: { at: number; mono: number };
  private loggedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly db: Database,
    private readonly wall: Clock,
    /** Whether a trustworthy source agrees with the wall clock now (gateway/time/clock-guard.ts). */
    private readonly confirmed: () => boolean,
    private readonly log: Logger,
    private readonly mono: () => number = () => performance.now(),
  ) {
    const stored = Number(getMeta(db, KEY));
    this.base = { at: Number.isFinite(stored) && stored > 0 ? stored : wall.now(), mono: mono() };
  }

  now(): number {
    const wall = this.wall.now();
    const mono = this.mono();
    let t: number;
    if (this.confirmed()) {
      t = wall;
      this.base = { at: wall, mono };
    } else {
      // Never ahead of the wall clock either: a clock set back makes retention wait, never hurry.
      t = Math.min(wall, this.base.at + (mono - this.base.mono));
      if (wall - t > HOUR && mono - this.loggedAt >= HOUR) {
        this.loggedAt = mono;
        this.log.warn(
          { wallClock: new Date(wall).toISOString(), retentionClock: new Date(t).toISOString() },
          "retention runs on the gateway's own running time, behind its clock, until NTP or the city confirms the clock",
        );
      }
    }
    setMeta(this.db, KEY, String(t));
    return t;
  }
}

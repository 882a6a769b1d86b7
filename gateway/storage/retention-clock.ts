/**
 * The time retention deletes by (personal data, sensor history). A Raspberry Pi has no real-time clock: after a power
 * cut it may run a year ahead until NTP answers, and by that clock every tap is past its 180 days. So while nothing
 * trustworthy confirms the wall clock (the host's NTP, or the city's clock over verified HTTPS: not the cameras,
 * which anyone at their address can play), retention's time is the last confirmed (or first seen) time plus the time
 * the gateway has run since, by the monotonic clock, which no jump of the wall clock moves. It is kept in `meta`
 * across restarts, so a chain of restarts on a wrong clock adds only the time run.
 *
 * The first time (nothing kept yet: a new box, or an upgrade from a release without this clock) there is no time
 * known good to start from, and the wall clock may be the wrong one. Retention then waits: it deletes nothing until
 * the clock is confirmed or the gateway has run FIRST_WAIT_MS unconfirmed (counted across restarts), and only then
 * takes the wall clock as first seen. A box that booted ahead gets NTP within minutes; one that never does can only
 * be believed.
 *
 * What that costs: where nothing ever confirms the clock, retention runs late by the time the box was off, and starts
 * a day late. What it never does: delete early, whatever the wall clock, a new row stamped by it, or a hostile camera
 * says, except where the clock is wrong for the whole first day and nothing ever contradicts it.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Database } from './db.js';
import { getMeta, setMeta } from './meta.js';

const KEY = 'retention.clock';
/** Unconfirmed running time (ms) so far, while nothing is kept under KEY. */
const WAITED_KEY = 'retention.clock.waited';
const HOUR = 3_600_000;
export const FIRST_WAIT_MS = 24 * HOUR;
/** What now() gives while retention waits: before every row, so nothing is past its retention. */
const BEFORE_EVERYTHING = 0;

export class RetentionClock implements Clock {
  /** The last time known good (or the first seen), and the monotonic reading then; none yet while waiting. */
  private base: { at: number; mono: number } | undefined;
  /** While waiting: the unconfirmed time run before this start, and the monotonic reading at this start. */
  private readonly waited: { before: number; mono: number };
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
    this.base = Number.isFinite(stored) && stored > 0 ? { at: stored, mono: mono() } : undefined;
    const waited = Number(getMeta(db, WAITED_KEY));
    this.waited = { before: Number.isFinite(waited) && waited > 0 ? waited : 0, mono: mono() };
  }

  now(): number {
    return this.read(true);
  }

  /** Keeps the time (and the first start's wait) for the next start, saying nothing: the gateway is stopping. */
  save(): void {
    this.read(false);
  }

  private read(warn: boolean): number {
    const wall = this.wall.now();
    const mono = this.mono();
    let t: number;
    if (this.confirmed()) {
      t = wall;
      this.base = { at: wall, mono };
    } else if (this.base === undefined) {
      const waited = this.waited.before + (mono - this.waited.mono);
      if (waited < FIRST_WAIT_MS) {
        setMeta(this.db, WAITED_KEY, String(Math.round(waited)));
        if (warn) this.warn(mono, { wallClock: new Date(wall).toISOString(), waitedH: Math.floor(waited / HOUR) },
          `retention deletes nothing until NTP or the city confirms the clock, or the gateway has run ${FIRST_WAIT_MS / HOUR} h`);
        return BEFORE_EVERYTHING;
      }
      t = wall;
      this.base = { at: wall, mono };
      this.log.warn({ wallClock: new Date(wall).toISOString() }, 'retention takes the unconfirmed clock as its start, nothing having confirmed it for a day');
    } else {
      // Never ahead of the wall clock either: a clock set back makes retention wait, never hurry.
      t = Math.min(wall, this.base.at + (mono - this.base.mono));
      if (warn && wall - t > HOUR) {
        this.warn(mono, { wallClock: new Date(wall).toISOString(), retentionClock: new Date(t).toISOString() },
          "retention runs on the gateway's own running time, behind its clock, until NTP or the city confirms the clock");
      }
    }
    setMeta(this.db, KEY, String(t));
    return t;
  }

  /** At most once an hour of running. */
  private warn(mono: number, fields: Record<string, unknown>, msg: string): void {
    if (mono - this.loggedAt < HOUR) return;
    this.loggedAt = mono;
    this.log.warn(fields, msg);
  }
}

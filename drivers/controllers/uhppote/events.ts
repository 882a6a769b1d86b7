/**
 * A controller's event log, taken strictly in index order so that "every index up to the last recorded one is
 * recorded" holds and one number is all the gateway needs to remember. A pushed event says its index is there; the
 * entry is then read back with get-event and that is recorded (a push's source address is easy to forge). A gap
 * (gateway restart, network outage, controller reboot, a dropped packet) is read back the same way and marked
 * backfilled. An event already recorded (pushed twice) is dropped, so each is recorded once. A swipe's tap and the
 * new index commit in one transaction.
 */
import type { ControllerDeviceConfig } from '../../../config/controllers.js';
import { doorReaderId } from '../../../config/controllers.js';
import { epochOfLocal } from '../../../gateway/core/school-calendar.js';
import type { DeviceDenial, Tap } from '../../../gateway/core/taps.js';
import { uidKeyOf } from './plan.js';
import { EVENT_TYPE, REASON, type ControllerEvent } from './responses.js';

/** Pushed events held while a gap before them is read back; more than this and the rest are read from the log too. */
const MAX_HELD = 1000;
/**
 * After a push turned out to be beyond the controller's log (forged), pushes wait this long before the next status read
 * confirms them; the status poll reads on meanwhile. A flood of forged pushes for the next index, at the listener's
 * limit, cost a status read each (20 ms of the controller's requests' time with its settle time): ~40 reads a second
 * that a full card sync had to queue behind, 8 times slower (an attacker review, 2026-12-07). A controller logs an
 * entry before it pushes it, so its own pushes never start this wait; under attack they are recorded up to 1 s later.
 */
const FORGED_PUSH_QUIET_MS = 1000;

export interface EventPumpDeps {
  device: ControllerDeviceConfig;
  timeZone: string;
  /** The recorded index, or null before the gateway has met this controller. */
  recorded: () => number | null;
  setBaseline: (lastIndex: number) => void;
  read: (index: number) => Promise<ControllerEvent>;
  /** The controller's last index, read now (get-status): a gap is read back only up to what the controller confirms. */
  confirm: () => Promise<number>;
  /** Puts a swipe on the bus and resolves once its tap (and the new index) are committed; false when it was not. */
  tap: (tap: Tap, index: number) => Promise<boolean>;
  /** Records that a non-swipe event was handled (advances the index). */
  advance: (index: number) => Promise<void>;
  /** Door and alarm events (forced open, held open, remote open…). */
  onDoorEvent: (event: ControllerEvent, backfilled: boolean) => void;
  /** Every index the controller has is recorded: what was read back is the whole story up to now. */
  onCaughtUp: () => void;
  count: (kind: 'live' | 'backfilled' | 'duplicate' | 'overwritten' | 'unmapped_door' | 'forged') => void;
  warn: (fields: Record<string, unknown>, msg: string) => void;
}

/**
 * The controller's wall-clock time as epoch ms in the school's zone; undefined when it is no real time. Its digits are
 * valid BCD whatever a flat clock battery or a hostile packet put there (month 99, day 00), and such a date made the
 * calendar code throw out of the event pump and the status poll.
 */
export function controllerTimeToEpoch(local: string, timeZone: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(local);
  if (!m) return undefined;
  const [year, month, day, h, min, sec] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate(); // in `month` (1-based): day 0 of the next one
  if (month < 1 || month > 12 || day < 1 || day > days || h > 23 || min > 59 || sec > 59) return undefined;
  const t = epochOfLocal(`${m[1]}-${m[2]}-${m[3]}`, `${m[4]}:${m[5]}:${m[6]}`, timeZone);
  return Number.isFinite(t) ? t : undefined;
}

const samePush = (a: ControllerEvent, b: ControllerEvent): boolean =>
  a.index === b.index && a.type === b.type && a.granted === b.granted && a.door === b.door && a.direction === b.direction && a.card === b.card && a.reason === b.reason && a.timestamp === b.timestamp;

const summary = (e: ControllerEvent): string => `#${e.index} type ${e.type} door ${e.door} card ${e.card} ${e.granted ? 'granted' : 'refused'} at ${e.timestamp}`;

function denialOf(reason: number): DeviceDenial {
  if (reason === REASON.deniedAntiPassback) return 'anti_passback';
  if (reason === REASON.deniedLimitedTimes || reason === REASON.deniedTimezone) return 'outside_schedule';
  if (reason === REASON.deniedNormallyClosed) return 'lockdown';
  return 'device_denied';
}

export class EventPump {
  private target = 0;
  /** The controller's last index as its own status says; pushed indices are hints, never read beyond this. */
  private confirmed = 0;
  private readonly held = new Map<number, ControllerEvent>();
  private running: Promise<void> | undefined;
  private stopped = false;
  /** The last status read said the log is behind the recorded index. */
  private behindOnce = false;
  /** Running while pushes beyond the confirmed index wait (FORGED_PUSH_QUIET_MS); it resumes the pump at its end. */
  private quiet: NodeJS.Timeout | undefined;

  constructor(private readonly d: EventPumpDeps) {}

  stop(): void {
    this.stopped = true;
    clearTimeout(this.quiet);
  }

  /**
   * The controller's last index from a status read: sets the baseline the first time, then catches up to it. A log
   * behind the recorded index is believed at the second status read in a row that says so: one forged status reply
   * made the gateway read the controller's whole log again (an attacker review, 2026-12-06).
   */
  onStatus(lastIndex: number): void {
    const recorded = this.d.recorded();
    if (recorded !== null && lastIndex < recorded && !this.behindOnce) {
      this.behindOnce = true;
      this.d.warn({ lastIndex, recorded }, 'controller log is behind the recorded index; waiting for the next status read to confirm it');
      return;
    }
    this.behindOnce = false;
    if (recorded === null || lastIndex < recorded) {
      // First meeting, or a controller whose log restarted (replaced, reset to factory): history before now is not ours.
      if (recorded !== null) this.d.warn({ lastIndex, recorded }, 'controller log is behind the recorded index; starting again from its end');
      this.d.setBaseline(lastIndex);
      this.held.clear();
      this.target = lastIndex;
      this.confirmed = lastIndex;
      return;
    }
    this.confirmed = lastIndex;
    this.raise(lastIndex);
  }

  /** A pushed event. */
  onPushed(event: ControllerEvent): void {
    const recorded = this.d.recorded();
    if (recorded !== null && event.index <= recorded) {
      this.d.count('duplicate');
      return;
    }
    if (this.held.has(event.index)) {
      this.d.count('duplicate');
      return;
    }
    if (this.held.size < MAX_HELD) this.held.set(event.index, event);
    // Before the baseline is known the event waits; the first status read sets it.
    if (recorded !== null) this.raise(event.index);
  }

  /** Resolves when the pump has nothing left to do (tests, shutdown). */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private raise(index: number): void {
    if (index > this.target) this.target = index;
    if (!this.running) {
      // Nothing in a drain may reject unhandled: the process would exit and every gate with it.
      this.running = this.drain()
        .catch((err: unknown) => this.d.warn({ err }, 'controller event pump stopped; the next status read resumes it'))
        .finally(() => {
          this.running = undefined;
        });
    }
  }

  private async drain(): Promise<void> {
    for (;;) {
      const recorded = this.d.recorded();
      if (this.stopped || recorded === null) return;
      if (recorded >= this.target) return this.d.onCaughtUp();
      const index = recorded + 1;
      const pushed = this.held.get(index);
      let event: ControllerEvent;
      try {
        if (index > this.confirmed) {
          // Forged pushes came lately: these wait for the quiet time's end or the next status poll.
          if (this.quiet) return;
          // An index the controller has not confirmed (pushed, or a gap up to a pushed one): ask it where its log ends,
          // and forget pushes beyond that (a forged or garbled index must not make us read a million entries, and a
          // forged push must not make us read an entry the log does not hold yet, which a forged reply could fill).
          this.confirmed = await this.d.confirm();
          // A controller logs an entry before it pushes it: a push its log does not hold was not its own.
          for (const [k, e] of this.held) {
            if (k <= this.confirmed) continue;
            this.held.delete(k);
            this.d.count('forged');
            this.d.warn({ index: k, confirmed: this.confirmed, pushed: summary(e) }, 'pushed controller event is beyond the controller log; not recorded');
            this.quietAfterForgery();
          }
          if (this.target > this.confirmed) this.target = this.confirmed;
          if (index > this.confirmed) return;
        }
        // A push is only a hint. Anyone on the LAN can send UDP with the controller's address as its source, so
        // what is recorded is what the controller's log holds at that index, read back over the request socket.
        event = await this.d.read(index);
      } catch {
        return; // controller unreachable: the next status read starts again from the recorded index
      }
      // Stopped while reading: nothing is recorded after stop (the database may be closing); the next start reads it again.
      if (this.stopped) return;
      this.held.delete(index);
      if (pushed && !samePush(pushed, event)) {
        this.d.count('forged');
        this.d.warn({ index, pushed: summary(pushed), logged: summary(event) }, 'pushed controller event differs from the controller log; the log is recorded');
      }
      if (event.index !== index || event.type === EVENT_TYPE.none) {
        // The controller has no such entry (an index pushed beyond its log, or a log that restarted): stop here and
        // let the next status read say where its log ends.
        for (const k of this.held.keys()) if (k >= index) this.held.delete(k);
        this.target = recorded;
        return;
      }
      if (!(await this.record(event, pushed === undefined))) return;
    }
  }

  private quietAfterForgery(): void {
    if (this.quiet || this.stopped) return;
    this.quiet = setTimeout(() => {
      this.quiet = undefined;
      if (!this.stopped) this.raise(this.target);
    }, FORGED_PUSH_QUIET_MS);
    this.quiet.unref();
  }

  private async record(e: ControllerEvent, backfilled: boolean): Promise<boolean> {
    if (e.type === EVENT_TYPE.overwritten) {
      this.d.count('overwritten');
      await this.d.advance(e.index);
      return true;
    }
    if (e.type !== EVENT_TYPE.card) {
      if (e.type === EVENT_TYPE.door || e.type === EVENT_TYPE.alarm) this.d.onDoorEvent(e, backfilled);
      await this.d.advance(e.index);
      return true;
    }
    const door = this.d.device.doors[String(e.door) as '1'];
    if (!door) {
      this.d.count('unmapped_door');
      await this.d.advance(e.index);
      return true;
    }
    const at = (e.timestamp && controllerTimeToEpoch(e.timestamp, this.d.timeZone)) || Date.now();
    const tap: Tap = {
      readerId: doorReaderId(this.d.device.id, e.door),
      uid: uidKeyOf(e.card, this.d.device.cardNumber),
      partial: true,
      at,
      seq: e.index,
      deviceDecision: e.granted ? { granted: true } : { granted: false, denial: denialOf(e.reason) },
    };
    if (backfilled) tap.backfilled = true;
    const ok = await this.d.tap(tap, e.index);
    if (ok) this.d.count(backfilled ? 'backfilled' : 'live');
    return ok;
  }
}

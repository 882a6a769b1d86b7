/**
 * A lockdown on a controller's doors: its lockable doors (gates, doors, classrooms) "normally closed" while every card
 * but security staff's leaves its card list, then "controlled" again so security staff's cards work; at its end,
 * controlled and every card back. The card list is the sync's (sync.ts); the door modes are door-modes.ts's, read
 * back at every status poll, in a lockdown or not (check).
 *
 * The protocol has no authentication: anyone on the LAN can set a door "normally open" with one packet, and a
 * lockdown's doors stayed open for every card while the console said the lockdown was applied (an attacker review,
 * 2026-12-07). So during a lockdown every status poll also reads the card count (checkCount); the lockdown counts as
 * applied on a controller only while the doors and the count read back as the gateway left them.
 */
import type { DeviceRuntime } from './device.js';
import { DoorModes, type DoorFound, type DoorModesDeps } from './door-modes.js';
import { DOOR_MODE } from './messages.js';

export interface DoorLockdownDeps extends DoorModesDeps {
  active: () => boolean;
  /** Whether the controller's card list is the lockdown's: a plan made under it, written in full. */
  listLocked: (dev: DeviceRuntime) => boolean;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

export class DoorLockdown {
  /** Controllers whose lockdown (or its end) is being applied: their doors are in between, as meant. */
  private readonly applying = new Set<string>();
  /** Controllers whose doors did not read back as the gateway left them at the last look (or could not be read). */
  private readonly astray = new Set<string>();
  /** Each controller's card count during a lockdown, read after the sync's `runs`th run. */
  private readonly counted = new Map<string, { runs: number; count: number }>();
  private readonly modes: DoorModes;

  constructor(private readonly d: DoorLockdownDeps) {
    this.modes = new DoorModes(d);
  }

  /** Whether the controller's lockable doors read back as the gateway left them at the last look. */
  doorsHeld(deviceId: string): boolean {
    return !this.astray.has(deviceId) && !this.applying.has(deviceId);
  }

  /**
   * Lockdown in two steps: the doors go "normally closed" at once (one request per door: no card opens anything), then
   * every card but security staff's leaves the card list, then the doors go back to "controlled" so security staff's
   * cards work. Its end: doors controlled, then the cards come back.
   */
  async apply(dev: DeviceRuntime, active: boolean): Promise<void> {
    this.applying.add(dev.id);
    try {
      // The card list is written even when a door did not take its mode (a reply forged or lost): the error still
      // stops the step after, and each status poll sets the doors to what the list allows (check below). Without it
      // the list was never cut, and the doors stayed normally closed to security staff too until the nightly sync.
      if (active) {
        try {
          await this.setModes(dev, DOOR_MODE.normallyClosed);
        } finally {
          await dev.sync.request('incremental');
        }
        // A cut that failed (a write refused or unanswered) left every card on the list: the doors stay closed to all
        // of them, and a status poll opens them to security staff once a later sync has cut it (check below; a
        // failed sync is run again by sync.ts retryFailed).
        if (this.d.active() && this.d.listLocked(dev)) {
          await this.setModes(dev, DOOR_MODE.controlled);
          await this.checkCount(dev).catch(() => {}); // counted at the next status poll instead
        }
      } else {
        this.counted.delete(dev.id);
        try {
          await this.setModes(dev, DOOR_MODE.controlled);
        } finally {
          await dev.sync.request('incremental');
        }
      }
    } finally {
      this.applying.delete(dev.id);
    }
  }

  /**
   * At each status poll the controller answered, unless its lockdown (or its end) is being applied. The lockable doors
   * are read back and set to what the card list allows: outside a lockdown controlled; during one controlled once the
   * list is the lockdown's, else normally closed (a controller that was away when the lockdown began, or whose cut
   * failed). A door the gateway left normally closed is set controlled after a lockdown that ended while the controller
   * was away (also if the gateway restarted before it came back: what it left is saved); one found in a mode the gateway
   * did not leave it in was set so by someone else (door-modes.ts raises door_mode_changed).
   */
  async check(dev: DeviceRuntime): Promise<void> {
    if (dev.health !== 'online' || this.applying.has(dev.id)) return;
    const active = this.d.active();
    if (!active) this.counted.delete(dev.id);
    const want = active && !this.d.listLocked(dev) ? DOOR_MODE.normallyClosed : DOOR_MODE.controlled;
    try {
      const found = await this.setModes(dev, want);
      const reopened = found.filter((f) => f.own && f.was === DOOR_MODE.normallyClosed);
      if (!active && reopened.length > 0) this.d.log.info({ controller: dev.id, doors: reopened }, 'controller doors set controlled after a lockdown that ended while it was away');
      // Set back, but whoever changed them can again at once: held again when the next look finds them as left.
      if (found.some((f) => !f.own)) this.astray.add(dev.id);
      if (want === DOOR_MODE.controlled && active) await this.checkCount(dev);
    } catch (err) {
      this.d.warn(`door-modes:${dev.id}`, { controller: dev.id, err: (err as Error).message }, active ? 'controller doors not confirmed in lockdown mode' : 'controller doors not confirmed controlled');
    }
  }

  /**
   * During a lockdown, the controller's card count against the one read after the sync's last run: one packet from the
   * LAN put a student's card back on a locked-down gate, and it opened while the console said applied (an attacker
   * review, 2026-12-07). A count that changed is read again in full (its doors normally closed meanwhile: the list is
   * not known to be the lockdown's). What keeps the count (a card deleted and another put) is found only by the
   * nightly reconciliation.
   */
  private async checkCount(dev: DeviceRuntime): Promise<void> {
    const { count } = await dev.ask({ type: 'get-cards' });
    const prior = this.counted.get(dev.id);
    const runs = dev.sync.runs;
    this.counted.set(dev.id, { runs, count });
    if (!prior || prior.runs !== runs || prior.count === count) return;
    this.astray.add(dev.id);
    this.d.log.warn({ controller: dev.id, count, was: prior.count }, 'controller card list changed during a lockdown, not by the gateway; reading it again');
    void dev.sync.request('full');
  }

  /** The doors' modes (door-modes.ts); they count as astray until every door read back or took the mode. */
  private async setModes(dev: DeviceRuntime, mode: number): Promise<DoorFound[]> {
    this.astray.add(dev.id);
    const found = await this.modes.set(dev, mode);
    this.astray.delete(dev.id);
    return found;
  }
}

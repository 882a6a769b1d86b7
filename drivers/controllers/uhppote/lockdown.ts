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
import { doorReaderId } from '../../../config/controllers.js';
import type { LockdownOverruled } from '../../../gateway/core/taps.js';
import { ControllerForgeryError } from './client.js';
import type { DeviceRuntime } from './device.js';
import type { DoorAlarms } from './door-alarms.js';
import { DoorModes, type DoorFound, type DoorModesDeps } from './door-modes.js';
import { DOOR_MODE } from './messages.js';

export interface DoorLockdownDeps extends Omit<DoorModesDeps, 'changed'> {
  alarms: Pick<DoorAlarms, 'modeChanged' | 'grantedInLockdown'>;
  active: () => boolean;
  /** Whether the controller's card list is the lockdown's: a plan made under it, written in full. */
  listLocked: (dev: DeviceRuntime) => boolean;
  /** Takes a full read of the card list held back for the controller (not-issued.ts takeOwed): whether there was one. */
  owedRead: (dev: DeviceRuntime) => boolean;
}

export class DoorLockdown {
  /** Controllers whose lockdown (or its end) is being applied: their doors are in between, as meant. */
  private readonly applying = new Set<string>();
  /** Controllers whose doors did not read back as the gateway left them at the last look (or could not be read). */
  private readonly astray = new Set<string>();
  /** Each controller's card count during a lockdown, read after the sync's `runs`th run. */
  private readonly counted = new Map<string, { runs: number; count: number }>();
  /**
   * Each controller's last log index when the gateway set its doors controlled over the lockdown's list (overruled):
   * a swipe logged up to it was decided by the list of its time (the old one of a controller away when the lockdown
   * began), or refused at a normally closed door. Unset while the list is not the lockdown's.
   */
  private readonly listedAfter = new Map<string, number>();
  /** Controller doors whose grant raised door_granted_in_lockdown, as `<readerId>@<lockdown's start>`. */
  private readonly granted = new Set<string>();
  private readonly modes: DoorModes;

  constructor(private readonly d: DoorLockdownDeps) {
    this.modes = new DoorModes({
      ...d,
      changed: (dev, door, found, setTo) => {
        // Astray from here, not from the look's end: its other doors' reads can take seconds on a lossy LAN.
        this.astray.add(dev.id);
        d.alarms.modeChanged(dev, door, found, setTo);
      },
    });
  }

  /** The configured doors the controller answered as no door at the last look (door-modes.ts). */
  missingDoors(deviceId: string): ReadonlySet<number> {
    return this.modes.missingDoors(deviceId);
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
    this.listedAfter.delete(dev.id);
    try {
      // The card list is written even when a door did not take its mode (a reply forged or lost): the error still
      // stops the step after, and each status poll sets the doors to what the list allows (check below). Without it
      // the list was never cut, and the doors stayed normally closed to security staff too until the nightly sync.
      if (active) {
        try {
          await this.setModes(dev, DOOR_MODE.normallyClosed);
        } finally {
          // A list known not to be the gateway's (a card it never issued let through, its read held back by the
          // minute) is read in full by the cut itself, not again during the lockdown.
          await dev.sync.request(this.d.owedRead(dev) ? 'full' : 'incremental');
        }
        // A cut that failed (a write refused or unanswered) left every card on the list: the doors stay closed to all
        // of them, and a status poll opens them to security staff once a later sync has cut it (check below; a
        // failed sync is run again by sync.ts retryFailed).
        if (this.d.active() && this.d.listLocked(dev)) {
          // Read while the doors are still normally closed: what the log holds up to here granted nobody by this list.
          const { lastIndex } = (await dev.ask({ type: 'get-status' })).status;
          this.listedAfter.set(dev.id, lastIndex);
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
    // This poll's status was read with the doors as the last look left them: normally closed, unless already
    // controlled over the lockdown's list. The lower of the two also holds for a log that started again.
    const last = dev.lastStatus?.lastIndex;
    const listed = this.listedAfter.get(dev.id);
    if (!active || want !== DOOR_MODE.controlled || last === undefined) this.listedAfter.delete(dev.id);
    else this.listedAfter.set(dev.id, listed === undefined ? last : Math.min(listed, last));
    try {
      const found = await this.setModes(dev, want);
      const reopened = found.filter((f) => f.own && f.was === DOOR_MODE.normallyClosed);
      if (!active && reopened.length > 0) this.d.log.info({ controller: dev.id, doors: reopened }, 'controller doors set controlled after a lockdown that ended while it was away');
      if (want === DOOR_MODE.controlled && active) await this.checkCount(dev);
    } catch (err) {
      this.d.warn(`door-modes:${dev.id}`, { controller: dev.id, err: (err as Error).message }, active ? 'controller doors not confirmed in lockdown mode' : 'controller doors not confirmed controlled');
    }
  }

  /**
   * During a lockdown the controller let through a card the lockdown refuses (the access domain's
   * tap.lockdown_overruled). A card deleted and another put in its place keeps the count checkCount reads, and the
   * swapped-in card opened a locked-down door until the nightly reconciliation (an attacker review, 2026-12-07). On a
   * controller whose list the gateway holds as the lockdown's, someone changed it: a critical alert (one per door and
   * lockdown), and the list is read again (relist). One not yet brought to the lockdown (away when it began, a cut
   * that failed, a read already under way) grants by a list known not to be the lockdown's, and is being mended.
   */
  overruled(dev: DeviceRuntime | undefined, tap: LockdownOverruled): void {
    if (!dev || !this.d.active() || !this.d.listLocked(dev)) return; // not a controller's door, or no list to doubt
    // A swipe logged before its doors went controlled over the lockdown's list, read back since (a controller away when
    // the lockdown began has a log of them): every one raised the alert, blaming the LAN, and read the list again,
    // over and over while its log was read back, its doors normally closed to security staff meanwhile.
    const listed = this.listedAfter.get(dev.id);
    if (listed === undefined || tap.seq === undefined || tap.seq <= listed) return;
    const door = Object.keys(dev.config.doors).map(Number).find((n) => doorReaderId(dev.id, n) === tap.readerId);
    if (door === undefined) return;
    const key = `${tap.readerId}@${tap.lockdownSince}`;
    if (!this.granted.has(key)) {
      if (this.granted.size >= 1000) this.granted.clear(); // a door per lockdown: stays small whatever comes
      this.granted.add(key);
      this.d.alarms.grantedInLockdown(dev, door, tap);
    }
    void this.relist(dev, { door, tapId: tap.tapId }, "controller let a card the lockdown refuses through: its card list is not the lockdown's; reading it again");
  }

  /**
   * During a lockdown, the controller's card count against the one read after the sync's last run: one packet from the
   * LAN put a student's card back on a locked-down gate, and it opened while the console said applied (an attacker
   * review, 2026-12-07). A count that changed means the list was changed by someone else (relist). A card deleted and
   * another put keeps the count: its first granted swipe shows it (overruled).
   */
  private async checkCount(dev: DeviceRuntime): Promise<void> {
    let count: number;
    try {
      ({ count } = await dev.ask({ type: 'get-cards' }));
    } catch (err) {
      if (!(err instanceof ControllerForgeryError)) throw err;
      // Two different counts, one of them the controller's: a forger answering each read with the count from before
      // hid a card put from the LAN, and the console said applied while the gate opened for it. Read again.
      this.counted.delete(dev.id);
      return this.relist(dev, { count: 'forged' }, 'controller card count read twice, different, during a lockdown; reading the list again');
    }
    const prior = this.counted.get(dev.id);
    const runs = dev.sync.runs;
    this.counted.set(dev.id, { runs, count });
    if (!prior || prior.runs !== runs || prior.count === count) return;
    await this.relist(dev, { count, was: prior.count }, 'controller card list changed during a lockdown, not by the gateway; reading it again');
  }

  /**
   * The controller's card list is not the one the gateway wrote for the lockdown: it is read again in full, and its
   * doors go normally closed meanwhile (no card known to be the lockdown's opens them); a status poll sets them
   * controlled once the list is the lockdown's again (check).
   */
  private async relist(dev: DeviceRuntime, fields: object, msg: string): Promise<void> {
    this.astray.add(dev.id);
    this.listedAfter.delete(dev.id);
    this.d.log.warn({ controller: dev.id, ...fields }, msg);
    // Asked first: from here on the list is not the lockdown's (listLocked), so a status poll keeps the doors closed too.
    void dev.sync.request('full');
    await this.setModes(dev, DOOR_MODE.normallyClosed).catch(() => {}); // closed by the next status poll instead
  }

  /**
   * The doors' modes (door-modes.ts). A look that fails, or finds a door someone else changed (set back, but they can
   * change it again at once), leaves them astray until a look finds every door as the gateway left it. While a look is
   * under way they count as the last one found them, until it finds a door changed: marked astray for its duration, a
   * lockdown applied read "applying" at every status poll for as long as the controller took to answer (a busy box, a
   * busy LAN), and the console caught it there. A lockdown's own steps are marked by `applying` instead.
   */
  private async setModes(dev: DeviceRuntime, mode: number): Promise<DoorFound[]> {
    let found: DoorFound[];
    try {
      found = await this.modes.set(dev, mode);
    } catch (err) {
      this.astray.add(dev.id);
      throw err;
    }
    if (found.every((f) => f.own)) this.astray.delete(dev.id);
    return found;
  }
}

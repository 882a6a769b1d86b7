/**
 * The control modes of a controller's lockable doors (gates, doors, classrooms), which the gateway owns as it owns the
 * card lists: "controlled" (the card list decides), or during a lockdown "normally closed" while the list is not yet
 * the lockdown's. The gateway never sets "normally open".
 *
 * The protocol has no authentication: one set-door-control packet from anyone on the LAN set a school gate "normally
 * open" at night, and outside a lockdown nothing looked at the modes again (an attacker review, 2026-12-07). So each
 * status poll reads the doors back (lockdown.ts check: one request per lockable door, at most 4) and sets a door found
 * otherwise; one found in a mode the gateway did not leave it in raises door_mode_changed (door-alarms.ts).
 */
import type { AccessPointConfig } from '../../../config/access.js';
import { ControllerForgeryError } from './client.js';
import type { DeviceRuntime } from './device.js';
import { DOOR_MODE } from './messages.js';
import { LOCKABLE } from './plan.js';

/** The unlock delay controllers leave the factory with (s): a set made before any read, without a configured one. */
const FACTORY_UNLOCK_DELAY_S = 3;

/** A door read back in another mode than the one it was set to; `own`: a mode the gateway left it in. */
export interface DoorFound {
  door: number;
  was: number;
  own: boolean;
}

export interface DoorModesDeps {
  aps: ReadonlyMap<string, AccessPointConfig>;
  /**
   * The controllers whose lockable doors the gateway left normally closed, kept across restarts (store.ts). Saving
   * must not throw: a failing disk must not stop a lockdown closing the doors.
   */
  closed: { load(): readonly string[]; save(deviceId: string, closed: boolean): void };
  /** A door found in a mode the gateway did not leave it in, being set to `setTo` (door-alarms.ts modeChanged). */
  changed: (dev: DeviceRuntime, door: number, found: number, setTo: number) => void;
  /** Rate-limited per key: a door set open again and again is one line a minute. */
  warn: (key: string, fields: Record<string, unknown>, msg: string) => void;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

export class DoorModes {
  /** The controllers saved as closed (deps.closed): saved before the first door is closed, forgotten once all are open. */
  private readonly saved: Set<string>;
  /** The mode the gateway last set or read back on each lockable door (controller → door → mode). */
  private readonly left = new Map<string, Map<number, number>>();
  /** Each lockable door's unlock delay as last read (controller → door → seconds): kept when a mode is set blind. */
  private readonly delays = new Map<string, Map<number, number>>();
  /**
   * Doors the config names that the controller answers as no door (controller → door → its reply), each said once:
   * a 2-door controller configured with a door 4 was a warning, a door_mode_changed alert and a set it could not take
   * at every status poll, forever. Forgotten when the reply changes (said again if still no door) and at a restart.
   */
  private readonly absent = new Map<string, Map<number, string>>();
  /** The highest door each controller answered as a door since the start (controller → door): none above is missing. */
  private readonly highest = new Map<string, number>();

  constructor(private readonly d: DoorModesDeps) {
    this.saved = new Set(d.closed.load());
  }

  /**
   * Sets every lockable door of a controller to a control mode, keeping its unlock delay; the doors it found otherwise.
   * A controller that answers with another mode did not take it: that throws. A door found in a mode the gateway did
   * not leave it in is reported as it is found, before a later door's request can fail.
   */
  async set(dev: DeviceRuntime, mode: number): Promise<DoorFound[]> {
    const found: DoorFound[] = [];
    // Saved before the first request: a gateway stopped half-way has to open the doors it may have closed at its
    // next start, whether or not a lockdown is still on (lockdown.ts check).
    if (mode === DOOR_MODE.normallyClosed && !this.saved.has(dev.id)) {
      this.saved.add(dev.id);
      this.d.closed.save(dev.id, true);
    }
    let left = this.left.get(dev.id);
    if (!left) this.left.set(dev.id, (left = new Map()));
    let delays = this.delays.get(dev.id);
    if (!delays) this.delays.set(dev.id, (delays = new Map()));
    let forged: ControllerForgeryError | undefined;
    for (const [n, door] of Object.entries(dev.config.doors)) {
      const ap = door ? this.d.aps.get(door.accessPoint) : undefined;
      if (!ap || !LOCKABLE.has(ap.kind)) continue;
      const k = Number(n);
      try {
        let current: { door: number; mode: number; delay: number };
        try {
          current = await dev.ask({ type: 'get-door-control', door: k });
        } catch (err) {
          if (!(err instanceof ControllerForgeryError)) throw err;
          // Two different replies, one of them the controller's: the door may be one someone set normally open while
          // the other reply hides it. It is set to the mode all the same (no change on a door already in it), and the
          // look still fails below (not held), the other doors looked at first: a forger racing every read kept the
          // gate open to anyone for as long as it raced.
          // A set carries the unlock delay: the one last read, else (reads forged from the first poll after a start)
          // the door's configured one. Held back for want of a delay read, the door was never set for as long as the
          // forger raced from the start.
          left.delete(k);
          forged ??= err;
          const delay = delays.get(k) ?? door.unlockDelayS ?? FACTORY_UNLOCK_DELAY_S;
          await dev.ask({ type: 'set-door-control', door: k, mode, delay }).catch(() => {});
          continue;
        }
        // Mode 0 (or another door's reply) is what a controller answers for a door it does not have. Controllers have
        // doors 1 to 1, 2 or 4: a door is taken for missing only above the highest that answered as a door since the
        // start (at least door 1, which every controller has), so mode 0 set on a door from the LAN is set back, also
        // when it was set before the gateway started (door 1 was then shown missing and never set again).
        if ((current.door !== k || current.mode === 0) && k > (this.highest.get(dev.id) ?? 1)) {
          this.missing(dev, k, current);
          continue;
        }
        this.absent.get(dev.id)?.delete(k);
        delays.set(k, current.delay);
        if (current.door === k && current.mode !== 0 && k > (this.highest.get(dev.id) ?? 1)) this.highest.set(dev.id, k);
        if (current.mode !== mode) {
          const f = { door: k, was: current.mode, own: this.own(dev.id, k, current.mode) };
          found.push(f);
          if (!f.own) {
            this.d.changed(dev, k, current.mode, mode);
            this.d.warn(`door-mode:${dev.id}:${k}`, { controller: dev.id, door: k, found: current.mode, setTo: mode }, 'controller door mode changed, not by the gateway; set back');
          }
          const set = await dev.ask({ type: 'set-door-control', door: k, mode, delay: current.delay });
          if (set.mode !== mode) throw new Error(`controller ${dev.id} door ${n} answered mode ${set.mode} to mode ${mode}`);
        }
        left.set(k, mode);
      } catch (err) {
        // Whether the door took the mode is not known: the next look judges it by what the gateway may have left (own).
        left.delete(k);
        throw err;
      }
    }
    if (forged) throw forged;
    if (mode !== DOOR_MODE.normallyClosed && this.saved.delete(dev.id)) this.d.closed.save(dev.id, false);
    return found;
  }

  /** The configured doors the controller answered as no door at the last look. */
  missingDoors(deviceId: string): ReadonlySet<number> {
    return new Set(this.absent.get(deviceId)?.keys() ?? []);
  }

  /** A configured door the controller answers as no door: said once (per reply), never set (it cannot take a mode). */
  private missing(dev: DeviceRuntime, door: number, reply: { door: number; mode: number; delay: number }): void {
    let absent = this.absent.get(dev.id);
    if (!absent) this.absent.set(dev.id, (absent = new Map()));
    const said = `${reply.door}:${reply.mode}:${reply.delay}`;
    if (absent.get(door) === said) return;
    absent.set(door, said);
    this.d.log.warn({ controller: dev.id, door, reply }, 'controller answers a configured door as no door (a controller with fewer doors?): its mode is not set; check controllers.devices[].doors');
  }

  /**
   * Whether a door's mode is one the gateway left it in: what it last set or read back; for a door it has not looked
   * at since it started (or whose last request failed), controlled, or normally closed on a controller saved as closed.
   */
  private own(deviceId: string, door: number, mode: number): boolean {
    const left = this.left.get(deviceId)?.get(door);
    if (left !== undefined) return mode === left;
    return mode === DOOR_MODE.controlled || (mode === DOOR_MODE.normallyClosed && this.saved.has(deviceId));
  }
}

/**
 * A lockdown on a controller's doors: its lockable doors (gates, doors, classrooms) "normally closed" while every card
 * but security staff's leaves its card list, then "controlled" again so security staff's cards work; at its end,
 * controlled and every card back. The card list is the sync's (sync.ts); the door modes are here.
 *
 * The protocol has no authentication: anyone on the LAN can set a door "normally open" with one packet, and a
 * lockdown's doors stayed open for every card while the console said the lockdown was applied (an attacker review,
 * 2026-12-07). So during a lockdown every status poll reads the doors' modes back and sets one that was changed again;
 * the lockdown counts as applied on a controller only while its doors read back as the lockdown left them.
 */
import type { AccessPointConfig } from '../../../config/access.js';
import type { DeviceRuntime } from './device.js';
import { DOOR_MODE } from './messages.js';

/** Kinds a lockdown closes (gateway/access/rules.ts). */
const LOCKABLE = new Set(['gate', 'door', 'classroom']);

export interface DoorLockdownDeps {
  aps: ReadonlyMap<string, AccessPointConfig>;
  active: () => boolean;
  log: { warn(o: object, m: string): void };
}

export class DoorLockdown {
  /** Controllers whose lockdown (or its end) is being applied: their doors are in between, as meant. */
  private readonly applying = new Set<string>();
  /** Controllers whose doors did not read back as the lockdown left them at the last look (or could not be read). */
  private readonly astray = new Set<string>();

  constructor(private readonly d: DoorLockdownDeps) {}

  /** Whether the controller's lockable doors read back in the lockdown's mode at the last look. */
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
      if (active) {
        await this.setModes(dev, DOOR_MODE.normallyClosed);
        await dev.sync.request('incremental');
        if (this.d.active()) await this.setModes(dev, DOOR_MODE.controlled);
      } else {
        await this.setModes(dev, DOOR_MODE.controlled);
        await dev.sync.request('incremental');
      }
    } finally {
      this.applying.delete(dev.id);
    }
  }

  /** At a status poll during a lockdown: a lockable door found in another mode is set back, with a warning. */
  async check(dev: DeviceRuntime): Promise<void> {
    if (!this.d.active() || dev.health !== 'online' || this.applying.has(dev.id)) return;
    try {
      const changed = await this.setModes(dev, DOOR_MODE.controlled);
      if (changed.length === 0) return;
      // Set back, but whoever changed them can again at once: locked down again when the next look finds them so.
      this.astray.add(dev.id);
      this.d.log.warn({ controller: dev.id, doors: changed }, 'controller door mode changed during a lockdown, not by the gateway; set back');
    } catch (err) {
      this.d.log.warn({ controller: dev.id, err: (err as Error).message }, 'controller doors not confirmed in lockdown mode');
    }
  }

  /**
   * Sets every lockable door of a controller to a control mode, keeping its unlock delay; the doors it found otherwise.
   * A controller that answers with another mode did not take it: that throws, and the doors count as astray.
   */
  private async setModes(dev: DeviceRuntime, mode: number): Promise<{ door: number; was: number }[]> {
    const changed: { door: number; was: number }[] = [];
    this.astray.add(dev.id);
    for (const [n, door] of Object.entries(dev.config.doors)) {
      const ap = door ? this.d.aps.get(door.accessPoint) : undefined;
      if (!ap || !LOCKABLE.has(ap.kind)) continue;
      const current = await dev.ask({ type: 'get-door-control', door: Number(n) });
      if (current.mode === mode) continue;
      changed.push({ door: Number(n), was: current.mode });
      const set = await dev.ask({ type: 'set-door-control', door: Number(n), mode, delay: current.delay });
      if (set.mode !== mode) throw new Error(`controller ${dev.id} door ${n} answered mode ${set.mode} to mode ${mode}`);
    }
    this.astray.delete(dev.id);
    return changed;
  }
}

/**
 * What a controller says about its doors, as alerts for the security desk: from its log door_forced, door_held_open
 * (the controller's own "open too long", and the gateway's timer on the door sensor) and door_opened_remotely (a
 * remote open the gateway did not send); from the status polls door_mode_changed (a door mode the gateway did not
 * set, door-modes.ts); and door_granted_in_lockdown (a card the lockdown refuses let through, lockdown.ts).
 */
import type { AccessPointConfig } from '../../../config/access.js';
import { doorReaderId } from '../../../config/controllers.js';
import type { GatewayContext } from '../../../gateway/module/context.js';
import { stableName } from '../../../gateway/core/localized-name.js';
import type { DeviceRuntime } from './device.js';
import { controllerTimeToEpoch } from './events.js';
import { DOOR_MODE } from './messages.js';
import { REASON, type ControllerEvent } from './responses.js';

export interface DoorAlarmsDeps {
  alerts: GatewayContext['alerts'];
  aps: ReadonlyMap<string, AccessPointConfig>;
  timeZone: string;
  now: () => number;
  doorHeldOpenS: number;
  maxClockDriftS: number;
  /** Whether a remote open of the reader is recorded (sent before a restart) between two times. */
  openRecorded: (readerId: string, from: number, to: number) => boolean;
}

interface OpenDoor {
  /** When it opened, controller time as epoch ms. */
  since: number;
  deviceId: string;
  /** Raises door_held_open when the limit passes without the door's close. */
  timer: NodeJS.Timeout | undefined;
  /** For an open read back already past the limit: the raise, waiting for the read-back to end without its close. */
  overdue?: (() => void) | undefined;
}

export class DoorAlarms {
  private readonly open = new Map<string, OpenDoor>();

  constructor(private readonly d: DoorAlarmsDeps) {}

  /** A door event from a controller's log, pushed now or read back (`backfilled`). */
  event(dev: DeviceRuntime, e: ControllerEvent, backfilled: boolean): void {
    const { d } = this;
    const { readerId, where } = this.place(dev, e.door);
    const data = { eventIndex: e.index, controllerTime: e.timestamp, backfilled };
    const at = (e.timestamp && controllerTimeToEpoch(e.timestamp, d.timeZone)) || d.now();
    const raise = (type: string, severity: 'warning' | 'critical', message: string, extra: Record<string, unknown> = {}): void =>
      this.raise(dev, e.door, type, severity, message, { ...data, ...extra });
    const heldOpen = (openS: number): void =>
      raise('door_held_open', 'warning', `Door held open at ${where} (over ${d.doorHeldOpenS} s)`, { openS, limitS: d.doorHeldOpenS });
    // The gateway's own held-open timer from the door sensor (reason 23 open, 24 closed); read-back pairs are judged
    // by their controller times. A pushed open has just happened: its timer runs the whole limit from now. Counted
    // from the controller's time stamp (whole seconds, and its clock up to maxClockDriftS behind), a short limit
    // could be over on arrival, and then nothing at all was raised however long the door stayed open.
    if (e.reason === REASON.doorOpen || e.reason === REASON.forcedOpen) {
      const prev = this.open.get(readerId);
      if (prev) clearTimeout(prev.timer);
      const left = d.doorHeldOpenS * 1000 - (backfilled ? d.now() - at : 0);
      const timer = left > 0 ? setTimeout(() => heldOpen(d.doorHeldOpenS), left) : undefined;
      timer?.unref();
      // Read back past the limit: its close may be the next entry of the same read-back, so the raise waits for it.
      const overdue = timer ? undefined : () => heldOpen(Math.round((d.now() - at) / 1000));
      this.open.set(readerId, { since: at, deviceId: dev.id, timer, overdue });
    } else if (e.reason === REASON.doorClosed) {
      const open = this.open.get(readerId);
      this.open.delete(readerId);
      if (open) {
        clearTimeout(open.timer);
        const openS = Math.round((at - open.since) / 1000);
        if (backfilled && openS > d.doorHeldOpenS) heldOpen(openS);
      }
    }
    if (e.reason === REASON.forcedOpen) {
      raise('door_forced', 'critical', `Door forced open at ${where} (no granted swipe, button or remote open)`);
    } else if (e.reason === REASON.remoteOpen && !this.openedByGateway(dev, e.door, readerId, at)) {
      // The protocol has no authentication: one packet from anywhere on the LAN opens a door, and the controller logs
      // it as a remote open like the gateway's own (an attacker review, 2026-12-07).
      raise('door_opened_remotely', 'critical', `Door at ${where} opened by a command the gateway did not send (another program, or someone on the controllers' network)`);
    } else if (e.reason === REASON.openTooLong) {
      raise('door_held_open', 'warning', `Door held open at ${where}`);
    }
  }

  /**
   * A lockable door found in a mode the gateway did not leave it in, and set back to `setTo` (door-modes.ts). Normally
   * open lets anyone in: critical; any other mode (normally closed refuses every card) a warning. One alert per door
   * and mode found (the dedup key), however often it is set so again: the critical one must not fold into a warning.
   * A mode the protocol does not define shares one key: a controller keeps any byte it is sent, and one a poll (4,
   * 5, 6…) was an alert each, up to 253 a door.
   */
  modeChanged(dev: DeviceRuntime, door: number, found: number, setTo: number): void {
    const { where } = this.place(dev, door);
    const mode = modeName(found);
    const severity = found === DOOR_MODE.normallyOpen ? 'critical' : 'warning';
    const message = `Door at ${where} was set ${mode.replace('_', ' ')} by a command the gateway did not send (another program, or someone on the controllers' network); set back to ${modeName(setTo).replace('_', ' ')}`;
    const known = found === DOOR_MODE.normallyOpen || found === DOOR_MODE.normallyClosed || found === DOOR_MODE.controlled;
    this.raise(dev, door, 'door_mode_changed', severity, message, { mode, setTo: modeName(setTo) }, known ? mode : 'other');
  }

  /**
   * During a lockdown a controller let through a card the lockdown refuses, at a door whose card list the gateway
   * holds as the lockdown's: someone changed the list (lockdown.ts overruled). One per door and lockdown.
   */
  grantedInLockdown(dev: DeviceRuntime, door: number, tap: { uid: string; tapId: string; lockdownSince: number }): void {
    const { where } = this.place(dev, door);
    const message = `Door controller let a card the lockdown refuses through at ${where}: its card list is not the lockdown's (changed from the controllers' network); reading it again, its doors normally closed meanwhile`;
    this.raise(dev, door, 'door_granted_in_lockdown', 'critical', message, { uid: tap.uid, tapId: tap.tapId }, String(tap.lockdownSince));
  }

  /** A controller's read-back is done: its doors still open past the limit without a close are held open. */
  caughtUp(deviceId: string): void {
    for (const door of this.open.values()) {
      if (door.deviceId !== deviceId || !door.overdue) continue;
      door.overdue();
      door.overdue = undefined;
    }
  }

  /** After the controllers stopped: no event can start a timer any more. */
  stop(): void {
    for (const o of this.open.values()) clearTimeout(o.timer);
  }

  private place(dev: DeviceRuntime, n: number): { ap: AccessPointConfig | undefined; readerId: string; where: string } {
    const door = dev.config.doors[String(n) as '1'];
    const ap = door ? this.d.aps.get(door.accessPoint) : undefined;
    const readerId = doorReaderId(dev.id, n);
    return { ap, readerId, where: stableName(ap?.name, readerId) };
  }

  /**
   * With the door's access point and zone, so the covering camera's rules apply; one alert per door (and `key`). An
   * alert the database refuses (a full disk) is counted and logged (tryRaise), never thrown: from the held-open timer
   * the throw ended the process, and from the door-mode watch it stopped a door set open from the LAN being set back.
   */
  private raise(dev: DeviceRuntime, door: number, type: string, severity: 'warning' | 'critical', message: string, data: Record<string, unknown>, key?: string): void {
    const { ap, readerId } = this.place(dev, door);
    this.d.alerts.tryRaise({
      type, severity, source: `controller:${dev.id}`, accessPoint: ap?.id, zone: ap?.zone, data: { controller: dev.id, readerId, ...data }, message,
      dedupKey: `${type}:${readerId}${key === undefined ? '' : `:${key}`}`,
    });
  }

  /**
   * Whether a remote open logged at `at` (controller time) is one the gateway sent: this process asked (its answer may
   * have been lost) or one is recorded (sent before a restart), within the controller's allowed drift and a minute.
   */
  private openedByGateway(dev: DeviceRuntime, door: number, readerId: string, at: number): boolean {
    const windowMs = (this.d.maxClockDriftS + 60) * 1000;
    return dev.openSentNear(door, at, windowMs) || this.d.openRecorded(readerId, at - windowMs, at + windowMs);
  }
}

/** A door control mode as the alerts name it. */
export function modeName(mode: number): string {
  if (mode === DOOR_MODE.normallyOpen) return 'normally_open';
  if (mode === DOOR_MODE.normallyClosed) return 'normally_closed';
  if (mode === DOOR_MODE.controlled) return 'controlled';
  return `mode_${mode}`;
}

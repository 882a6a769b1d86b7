/**
 * The demo school's door controllers (`controllers.devices[].simulated`): each runs as a protocol-level simulation on
 * 127.0.0.1 (simulated.ts), which the gateway syncs, polls and opens over UDP exactly as it would a real one. Now and
 * then someone swipes at one of its doors: mostly a card on its list, sometimes a card it does not know, and a door
 * let open is closed again a few seconds later, so the console's taps, door events and remote open have something to
 * show. Nothing here runs unless a device asks for it.
 */
import type { ControllerDeviceConfig } from '../../../config/controllers.js';
import { SimulatedController } from './simulated.js';

/** One swipe in this many is a card the controller does not hold (a visitor's, a card left at home). */
const UNKNOWN_EVERY = 6;
const DOOR_OPEN_MS = 3000;

export class ControllerSimulation {
  private readonly running: { device: ControllerDeviceConfig; sim: SimulatedController }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly devices: readonly ControllerDeviceConfig[],
    private readonly timeZone: string,
    private readonly random: () => number = Math.random,
  ) {}

  /** Starts each simulated controller; returns where each one answers ("127.0.0.1:port"), by device id. */
  async start(): Promise<Map<string, string>> {
    const addresses = new Map<string, string>();
    for (const device of this.devices) {
      const sim = new SimulatedController({ serial: device.serial, timeZone: this.timeZone });
      await sim.start();
      this.running.push({ device, sim });
      addresses.set(device.id, sim.address);
      this.later(() => this.swipe(device, sim), this.nextSwipeMs(device));
    }
    return addresses;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.running.splice(0).map((r) => r.sim.stop()));
  }

  private swipe(device: ControllerDeviceConfig, sim: SimulatedController): void {
    const doors = Object.entries(device.doors).flatMap(([n, d]) => (d ? [{ door: Number(n), direction: d.direction === 'out' ? (2 as const) : (1 as const) }] : []));
    const cards = sim.cards();
    if (doors.length > 0) {
      const { door, direction } = doors[Math.floor(this.random() * doors.length)]!;
      const known = cards.length > 0 && this.random() * UNKNOWN_EVERY >= 1;
      const card = known ? cards[Math.floor(this.random() * cards.length)]!.card : unknownCard(sim, this.random);
      if (sim.swipe(card, door, direction).granted) {
        sim.setDoorOpen(door, true);
        this.later(() => sim.setDoorOpen(door, false), DOOR_OPEN_MS);
      }
    }
    this.later(() => this.swipe(device, sim), this.nextSwipeMs(device));
  }

  /** ⅔ to 4⁄3 of the device's mean, so two controllers do not swipe in step. */
  private nextSwipeMs(device: ControllerDeviceConfig): number {
    return device.simulation.swipeEveryS * 1000 * (2 / 3 + (2 / 3) * this.random());
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }
}

/** A Wiegand-26 number the controller does not hold. */
function unknownCard(sim: SimulatedController, random: () => number): number {
  for (;;) {
    const n = 1 + Math.floor(random() * 0xfffffe);
    if (!sim.card(n)) return n;
  }
}

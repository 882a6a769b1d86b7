/**
 * Simulated sensors for the demo school. They publish native JSON on `campus/sensors/<id>` through the embedded
 * broker, exactly like a real sensor, so the demo exercises the whole path (broker → validation → storage → rules)
 * and anyone watching the broker sees them.
 *
 * Values follow a school day in the school's time zone: cool nights, rooms warming and CO2 rising during lessons,
 * the canteen busy at lunch. One "stuffy" classroom runs a compressed lesson from the moment the demo starts:
 * its CO2 climbs past 1500 ppm within two minutes and stays there until the break airs the room.
 */
import { isoWeekday, localTime as schoolLocalTime } from '../../gateway/core/school-calendar.js';
import type { Clock } from '../../gateway/core/clock.js';
import type { SensorSimulation } from '../../gateway/sensors/contract.js';
import { topics } from '../../gateway/core/topics.js';

export interface SimulatedSensor {
  id: string;
  zone: string;
  kind: string;
  intervalS: number;
}

export interface SimulationOptions {
  sensors: SimulatedSensor[];
  publish: (topic: string, payload: object) => Promise<void>;
  clock: Clock;
  timezone: string;
  stuffyRoomSensor?: string | undefined;
  lessonCycleS: number;
  onError?: (err: unknown) => void;
}

/** Local hour of day (fractional) and ISO weekday (1 = Monday) in the school's zone. */
export function localTime(t: number, timezone: string): { hour: number; weekday: number } {
  const local = schoolLocalTime(t, timezone);
  return { hour: Math.floor(local.secondOfDay / 60) / 60, weekday: isoWeekday(local.date) };
}

/** Deterministic small noise in [-1, 1] from the sensor and time, so a replay gives the same numbers. */
function noise(id: string, t: number, salt: number): number {
  let h = 2166136261 ^ salt;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  const x = Math.sin((Math.floor(t / 1000) + (h >>> 0)) * 12.9898) * 43758.5453;
  return (x - Math.floor(x)) * 2 - 1;
}

const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** How full a room is (0–1) at a local hour: lessons 08:00–11:45 and 13:30–17:00 on weekdays, 45 min + 10 min break. */
function occupancy(zone: string, hour: number, weekday: number): number {
  if (weekday > 5) return 0;
  if (zone.startsWith('canteen')) return hour >= 11.5 && hour < 13 ? 1 : hour >= 7 && hour < 7.75 ? 0.6 : 0;
  if (zone.startsWith('dorm')) return hour < 7 || hour >= 21 ? 1 : 0;
  const inLessons = (hour >= 8 && hour < 11.75) || (hour >= 13.5 && hour < 17);
  if (!inLessons) return 0;
  const intoSlot = ((hour - (hour >= 13.5 ? 13.5 : 8)) * 60) % 55;
  return intoSlot < 45 ? intoSlot / 45 : 0.1; // CO2 builds through the lesson, drops in the break
}

/** One payload for a simulated sensor at time `t`. */
export function simulatedPayload(sensor: SimulatedSensor, t: number, opts: { timezone: string; startedAt: number; stuffy: boolean; lessonCycleS: number }): Record<string, number | boolean> {
  const { hour, weekday } = localTime(t, opts.timezone);
  const daily = Math.sin(((hour - 9) / 24) * 2 * Math.PI); // warmest mid-afternoon
  const occ = occupancy(sensor.zone, hour, weekday);
  const n = (salt: number): number => noise(sensor.id, t, salt);
  if (sensor.kind === 'smoke') {
    return { smoke: false, battery: round(Math.max(5, 96 - (t - opts.startedAt) / 86_400_000 * 0.05), 0) };
  }
  let co2 = 430 + occ * 750 + n(1) * 25;
  if (opts.stuffy) {
    const cycleMs = opts.lessonCycleS * 1000;
    const into = (t - opts.startedAt) % cycleMs;
    const lesson = cycleMs * 0.6;
    co2 =
      into < lesson
        ? 700 + Math.min(1, into / (lesson * 0.4)) * 1250 + n(1) * 30 // climbs past 1500 ppm within the first minutes
        : 600 + 1350 * Math.exp(-(into - lesson) / (cycleMs * 0.05)); // windows open in the break
  }
  return {
    temperature: round(20 + daily * 2 + occ * 1.5 + n(2) * 0.2),
    humidity: round(45 - daily * 6 + occ * 5 + n(3)),
    co2: Math.round(co2),
    pm25: round(Math.max(1, 14 + daily * 6 + n(4) * 2)),
    noise: round(34 + occ * 28 + n(5) * 3),
    illuminance: Math.round(Math.max(0, daily * 400 + 150 + occ * 300 + n(6) * 20)),
  };
}

export class SimulatedSensors implements SensorSimulation {
  private timers: NodeJS.Timeout[] = [];
  private startedAt = 0;

  constructor(private readonly opts: SimulationOptions) {}

  start(): void {
    this.startedAt = this.opts.clock.now();
    for (const s of this.opts.sensors) {
      const tick = (): void => {
        const payload = simulatedPayload(s, this.opts.clock.now(), {
          timezone: this.opts.timezone,
          startedAt: this.startedAt,
          stuffy: s.id === this.opts.stuffyRoomSensor,
          lessonCycleS: this.opts.lessonCycleS,
        });
        this.opts.publish(topics.sensor(s.id), payload).catch((err: unknown) => this.opts.onError?.(err));
      };
      tick(); // the console has something to show at once
      const timer = setInterval(tick, s.intervalS * 1000);
      timer.unref();
      this.timers.push(timer);
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}

/** Wall-clock time, injectable so that schedules, cooldowns and durations can be tested on a controlled clock. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * What is known of the clock's truth (gateway/time/clock-guard.ts): `wrong` when a camera's or the city's clock
 * disagrees, `confirmed` when a source agrees (or the host says NTP is synchronised), `unconfirmed` when none can say. A Pi without a real-time
 * clock can start a year ahead; what deletes data by age asks first.
 */
export type ClockTrust = 'wrong' | 'unconfirmed' | 'confirmed';

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private t: number = Date.UTC(2026, 8, 1, 0, 0, 0)) {}
  now(): number {
    return this.t;
  }
  set(t: number): void {
    this.t = t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

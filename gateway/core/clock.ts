/** Wall-clock time, injectable so that schedules, cooldowns and durations can be tested on a controlled clock. */
export interface Clock {
  now(): number;
  /**
   * Milliseconds from some fixed moment by a clock no one sets (performance.now(): CLOCK_MONOTONIC), to tell time
   * passing from the wall clock being stepped (NTP on a box without a real-time clock). Absent: performance.now().
   */
  monotonic?(): number;
}

export const systemClock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };

/**
 * A clock tests move by hand. `advance` forward is time passing (the monotonic reading moves with it); `set`, `step`
 * and `advance` back are the wall clock being set, as NTP or a person does it (the monotonic reading stays).
 */
export class ManualClock implements Clock {
  private mono = 0;
  constructor(private t: number = Date.UTC(2026, 8, 1, 0, 0, 0)) {}
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.mono;
  }
  set(t: number): void {
    this.t = t;
  }
  advance(ms: number): void {
    this.t += ms;
    if (ms > 0) this.mono += ms;
  }
  /** The wall clock set `ms` forward (or back) with no time passing. */
  step(ms: number): void {
    this.t += ms;
  }
}

import type { Router } from 'express';
import { Counter } from 'prom-client';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../core/context.js';
import type { Logger } from '../core/logger.js';
import type { Guards } from '../http/guards.js';
import { DayTaps } from './day-taps.js';
import { AttendanceRegister, type AttendanceSummary } from './register.js';
import { attendanceRoutes } from './routes.js';

export { attendanceMigrations } from './schema.js';
export { AttendanceRegister } from './register.js';
export type { AttendanceSummary, AttendanceStatus, Counts, GradeCounts, ClassCounts } from './register.js';

/**
 * Listens to `tap.decided` and keeps the register; its writes go through the batch writer because gate taps
 * come in bursts at the morning bell and a register row is not something a reader waits for.
 */
export class AttendanceModule implements GatewayModule {
  readonly name = 'attendance';
  readonly register: AttendanceRegister;
  private readonly log: Logger;
  private readonly recorded: Counter<'result'>;
  private off: (() => void) | undefined;
  private failures = 0;

  constructor(private readonly ctx: GatewayContext) {
    this.log = ctx.log.child({ component: 'attendance' });
    this.register = new AttendanceRegister({ db: ctx.db, clock: ctx.clock, timezone: ctx.config.school.timezone, access: ctx.config.access });
    this.recorded = new Counter({
      name: 'campus_attendance_gate_taps_total',
      help: 'Granted gate taps written to the attendance register (result=recorded) or lost to a failed write (result=failed)',
      labelNames: ['result'],
      registers: [ctx.metrics],
    });
  }

  /** For the city's attendance stream: counts by grade and class, no names or ids. */
  summary(date: string): AttendanceSummary {
    return this.register.summary(date);
  }

  start(): void {
    this.off = this.ctx.bus.on('tap.decided', (d) => {
      const op = this.register.writeFor(d);
      if (!op) return;
      this.ctx.writer.write(op).then(
        () => this.recorded.inc({ result: 'recorded' }),
        (err: unknown) => {
          this.recorded.inc({ result: 'failed' });
          // One log line per 100 failures: a broken disk must not also flood the log at the morning bell.
          if (this.failures++ % 100 === 0) this.log.error({ err, tapId: d.tapId, failures: this.failures }, 'attendance write failed');
        },
      );
    });
  }

  stop(): void {
    this.off?.();
  }

  routes(api: Router, guards: Guards): void {
    attendanceRoutes(api, guards, this.register, new DayTaps(this.ctx.db, this.ctx.config.school.timezone));
  }

  health(): ComponentHealth {
    return this.failures === 0 ? { ok: true } : { ok: true, detail: `${this.failures} register write(s) failed` };
  }
}

import type { Router } from 'express';
import { Counter } from 'prom-client';
import type { TapWrite } from '../access/contract.js';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../module/context.js';
import type { Logger } from '../core/logger.js';
import type { Guards } from '../http/guards.js';
import { DayTaps } from './day-taps.js';
import { AttendanceRegister, type AttendanceSummary } from './register.js';
import { attendanceRoutes } from './routes.js';

export { attendanceMigrations } from './schema.js';
export { AttendanceRegister } from './register.js';
export type { AttendanceSummary, AttendanceStatus, Counts, GradeCounts, ClassCounts } from './register.js';

/**
 * Keeps the register. A granted gate tap's register row is written in the tap's own transaction (`tapWrite`,
 * handed to the access engine by the composition root): written after it, a crash at the morning bell left
 * hundreds of stored taps uncounted, and the city's summary would have called those students absent.
 */
export class AttendanceModule implements GatewayModule {
  readonly name = 'attendance';
  readonly register: AttendanceRegister;
  private readonly log: Logger;
  private readonly recorded: Counter<'result'>;
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

  /**
   * The register's part of a decided tap's transaction. A failed row is counted and logged, never thrown: the
   * tap itself must still be stored and answered (SQLite undoes just the failed statement). A commit that fails
   * loses the tap too and is counted by access (`campus_tap_failures_total`).
   */
  readonly tapWrite: TapWrite = (d) => {
    const op = this.register.writeFor(d);
    if (!op) return null;
    return (db) => {
      try {
        op(db);
      } catch (err) {
        this.recorded.inc({ result: 'failed' });
        // One log line per 100 failures: a broken disk must not also flood the log at the morning bell.
        if (this.failures++ % 100 === 0) this.log.error({ err, tapId: d.tapId, failures: this.failures }, 'attendance write failed');
        return;
      }
      this.recorded.inc({ result: 'recorded' });
    };
  };

  routes(api: Router, guards: Guards): void {
    attendanceRoutes(api, guards, this.register, new DayTaps(this.ctx.db, this.ctx.config.school.timezone));
  }

  health(): ComponentHealth {
    return this.failures === 0 ? { ok: true } : { ok: true, detail: `${this.failures} register write(s) failed`, code: 'register_writes_failed', params: { n: this.failures } };
  }
}

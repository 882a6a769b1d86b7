/**
 * Free space of the data directory's filesystem: `campus_disk_free_bytes`, the `storage` component of /healthz and the
 * `disk_low` (warning) / `disk_critical` (critical) alerts, resolved when space returns. It also runs the retries of
 * rows kept in memory after a failed write (deferred-writes.ts), whose count shows in the same component.
 */
import { statfsSync } from 'node:fs';
import { Gauge } from 'prom-client';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../module/context.js';
import type { DeferredWrites } from '../storage/deferred-writes.js';

const GiB = 1_073_741_824;
const MiB = 1_048_576;
/** The thresholds: warn below 10 % or 1 GiB free, critical below 2 % or 200 MiB. */
export const DISK_THRESHOLDS = { warnFraction: 0.1, warnBytes: GiB, criticalFraction: 0.02, criticalBytes: 200 * MiB };
const CHECK_EVERY_MS = 30_000;

export type DiskLevel = 'ok' | 'low' | 'critical';

export function diskLevel(free: number, total: number, t = DISK_THRESHOLDS): DiskLevel {
  const fraction = total > 0 ? free / total : 0;
  if (free < t.criticalBytes || fraction < t.criticalFraction) return 'critical';
  if (free < t.warnBytes || fraction < t.warnFraction) return 'low';
  return 'ok';
}

export interface DiskSpace {
  free: number;
  total: number;
}

export const statDisk = (dir: string): DiskSpace => {
  const s = statfsSync(dir);
  return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
};

const mb = (n: number): string => `${Math.round(n / MiB)} MiB`;

export class DiskGuard implements GatewayModule {
  readonly name = 'storage';
  private timer: NodeJS.Timeout | undefined;
  private level: DiskLevel = 'ok';
  private last: DiskSpace | undefined;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly deferred: DeferredWrites,
    /** Injectable so tests can play a filling disk. */
    private readonly stat: (dir: string) => DiskSpace = statDisk,
  ) {
    const self = this;
    new Gauge({
      name: 'campus_disk_free_bytes',
      help: "Free bytes on the data directory's filesystem (for unprivileged users)",
      registers: [ctx.metrics],
      collect() {
        if (self.last) this.set(self.last.free);
      },
    });
  }

  start(): void {
    this.check();
    this.deferred.start();
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.deferred.stop();
  }

  /** Reads the free space and raises or resolves the alerts; returns the level. */
  check(): DiskLevel {
    try {
      this.last = this.stat(this.ctx.config.dataDir);
    } catch (err) {
      this.ctx.log.warn({ err }, 'cannot read the free space of the data directory');
      return this.level;
    }
    const level = diskLevel(this.last.free, this.last.total);
    if (level !== this.level) this.transition(level);
    this.level = level;
    return level;
  }

  private transition(level: DiskLevel): void {
    const { alerts } = this.ctx;
    const where = this.ctx.config.dataDir;
    const free = this.last!;
    const data = { freeBytes: free.free, totalBytes: free.total, dataDir: where };
    const text = `${mb(free.free)} free of ${mb(free.total)} on the data directory's disk (${where})`;
    try {
      if (level === 'critical') {
        alerts.raise({ type: 'disk_critical', severity: 'critical', source: 'gateway', message: `${text}: taps are answered from memory, canteen payments refused when writes fail`, data });
      } else {
        alerts.resolveByKey('disk_critical:gateway', 'gateway', text);
      }
      if (level === 'low') alerts.raise({ type: 'disk_low', severity: 'warning', source: 'gateway', message: `${text}: free some space or move backups and snapshots`, data });
      else alerts.resolveByKey('disk_low:gateway', 'gateway', text);
    } catch (err) {
      // A full disk may refuse the alert itself: the metric and /healthz still say it.
      this.ctx.log.error({ err, level }, 'could not record the disk alert');
    }
  }

  health(): ComponentHealth {
    const pending = this.deferred.pending;
    const space = this.last ? `${mb(this.last.free)} free of ${mb(this.last.total)}` : 'free space unknown';
    const waiting = pending > 0 ? `; ${pending} rows waiting in memory for the database` : '';
    if (this.level === 'critical') return { ok: false, detail: `critical: ${space}${waiting}` };
    if (this.level === 'low' || pending > 0) return { ok: pending === 0, detail: `${this.level === 'low' ? 'low' : 'ok'}: ${space}${waiting}` };
    return { ok: true, detail: space };
  }
}

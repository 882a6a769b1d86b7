/**
 * The gateway's own nightly backup: once a day at `backup.at` school time, into `backup.dir`,
 * keeping the newest `backup.keep`. A failure raises `backup_failed` (warning), which the next success resolves.
 * A gateway that was off at that time backs up when it is next up within the following hour; later it waits for the
 * next night, so a restart during school hours never starts a long copy.
 */
import { join } from 'node:path';
import { Counter } from 'prom-client';
import { MetricFactory } from '../core/metrics.js';
import type { GatewayContext, GatewayModule } from '../module/context.js';
import { getMeta, setMeta } from '../storage/meta.js';
import { localTime, secondsOf } from '../core/school-calendar.js';
import { createBackup, pruneBackups, KEYS_NOT_IN_BACKUP, type BackupKind, type BackupResult } from '../storage/backup.js';

const CHECK_EVERY_MS = 30_000;
const WINDOW_S = 3_600;
const LAST_KEY = 'backup.nightly_date';
const ALERT_KEY = 'backup_failed:gateway';

export function backupDirOf(config: GatewayContext['config']): string {
  return config.backup.dir ?? join(config.dataDir, 'backups');
}

export class BackupScheduler implements GatewayModule {
  readonly name = 'backup';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<BackupResult | null> | undefined;
  private readonly failures: Counter;
  private lastSuccess = 0;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly configFile: string | undefined,
  ) {
    this.failures = new Counter({ name: 'campus_backup_failures_total', help: 'Backups the gateway tried and failed', registers: [ctx.metrics] });
    new MetricFactory(ctx.metrics).sampled(
      'campus_backup_last_success_timestamp_seconds',
      'When the last backup the gateway took succeeded (0: none since start)',
      () => this.lastSuccess / 1000,
    );
  }

  start(): void {
    if (!this.ctx.config.backup.nightly) return;
    this.timer = setInterval(() => void this.tick(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  /** Takes the nightly backup if it is due (exposed for tests on a ManualClock); null when not due. */
  tick(): Promise<BackupResult | null> {
    const { config, clock, db } = this.ctx;
    const now = clock.now();
    const local = localTime(now, config.school.timezone);
    const since = local.secondOfDay - secondsOf(config.backup.at);
    if (since < 0 || since >= WINDOW_S || getMeta(db, LAST_KEY) === local.date) return Promise.resolve(null);
    return this.run('nightly', () => setMeta(db, LAST_KEY, local.date));
  }

  /** One backup now; a backup already under way is joined. */
  run(kind: BackupKind, onSuccess: () => void = () => {}): Promise<BackupResult | null> {
    this.running ??= this.take(kind, onSuccess).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async take(kind: BackupKind, onSuccess: () => void): Promise<BackupResult | null> {
    const { config, clock, db, log, alerts } = this.ctx;
    const dir = backupDirOf(config);
    try {
      const result = await createBackup({
        db,
        dataDir: config.dataDir,
        toDir: dir,
        configFile: this.configFile,
        snapshots: config.backup.snapshots,
        school: config.school.id,
        kind,
        now: clock.now(),
      });
      onSuccess();
      const pruned = kind === 'nightly' ? pruneBackups(dir, 'nightly', config.backup.keep) : [];
      this.lastSuccess = clock.now();
      log.info({ file: result.file, bytes: result.bytes, pruned: pruned.length, notIncluded: KEYS_NOT_IN_BACKUP }, 'backup written');
      alerts.resolveByKey(ALERT_KEY, 'gateway', `backup ${result.file} succeeded`);
      return result;
    } catch (err) {
      this.failures.inc();
      const message = err instanceof Error ? err.message : String(err);
      log.error({ err, dir }, 'backup failed');
      alerts.raise({ type: 'backup_failed', severity: 'warning', source: 'gateway', message: `${kind} backup into ${dir} failed: ${message}`, dedupKey: ALERT_KEY, data: { dir, kind } });
      return null;
    }
  }
}

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
  /** The school day of the last nightly backup written, also when the database refused to record it (LAST_KEY). */
  private doneOn: string | undefined;

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
    if (since < 0 || since >= WINDOW_S || this.doneOn === local.date || getMeta(db, LAST_KEY) === local.date) return Promise.resolve(null);
    return this.run('nightly', () => {
      // Kept here too: refused by a full disk, the date was missing at the next check, 30 s later, which took the
      // night's backup again, and again for the hour, onto the disk that was full.
      this.doneOn = local.date;
      setMeta(db, LAST_KEY, local.date);
    });
  }

  /** One backup now; a backup already under way is joined. */
  run(kind: BackupKind, onSuccess: () => void = () => {}): Promise<BackupResult | null> {
    this.running ??= this.take(kind, onSuccess).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * Never rejects: the timer's tick is not awaited, and Node ends the process on an unhandled rejection. The alerts go
   * through tryRaise/tryResolveByKey: a backup fails most often on a full disk, which refuses the alert saying so too.
   */
  private async take(kind: BackupKind, onSuccess: () => void): Promise<BackupResult | null> {
    const { config, clock, db, log, alerts } = this.ctx;
    const dir = backupDirOf(config);
    let result: BackupResult;
    try {
      result = await createBackup({
        db,
        dataDir: config.dataDir,
        toDir: dir,
        configFile: this.configFile,
        snapshots: config.backup.snapshots,
        school: config.school.id,
        kind,
        now: clock.now(),
      });
    } catch (err) {
      this.failures.inc();
      const message = err instanceof Error ? err.message : String(err);
      log.error({ err, dir }, 'backup failed');
      alerts.tryRaise({ type: 'backup_failed', severity: 'warning', source: 'gateway', message: `${kind} backup into ${dir} failed: ${message}`, dedupKey: ALERT_KEY, data: { dir, kind } });
      return null;
    }
    try {
      onSuccess();
    } catch (err) {
      // The backup is written; only its date is not recorded (doneOn keeps it for this process).
      log.error({ err, file: result.file }, 'backup written, but its date could not be recorded');
    }
    let pruned: string[] = [];
    try {
      if (kind === 'nightly') pruned = pruneBackups(dir, 'nightly', config.backup.keep);
    } catch (err) {
      log.warn({ err, dir }, 'older backups not pruned');
    }
    this.lastSuccess = clock.now();
    log.info({ file: result.file, bytes: result.bytes, pruned: pruned.length, notIncluded: KEYS_NOT_IN_BACKUP }, 'backup written');
    alerts.tryResolveByKey(ALERT_KEY, 'gateway', `backup ${result.file} succeeded`);
    return result;
  }
}

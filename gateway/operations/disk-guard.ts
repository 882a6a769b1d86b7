/**
 * Free space of the data directory's filesystem: `campus_disk_free_bytes`, the `storage` component of /healthz and the
 * `disk_low` (warning) / `disk_critical` (critical) alerts, resolved when space returns. It also runs the retries of
 * rows kept in memory after a failed write (deferred-writes.ts), whose count shows in the same component.
 *
 * When the disk is critical it makes room, aiming at twice the critical threshold so that it does not run again at
 * the next check: first camera snapshots and clips, oldest first whichever store they are in, never those of an alert
 * not resolved yet (the composition root decides that in the stores it hands over); then, if the disk is still
 * critical, the city outbox by its own overflow policy. The stores come in through ports, so this file imports no domain.
 */
import { statfsSync } from 'node:fs';
import { Counter } from 'prom-client';
import { MetricFactory } from '../core/metrics.js';
import { WantedAlert } from '../core/wanted-alert.js';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../module/context.js';
import type { DeferredWrites } from '../storage/deferred-writes.js';
import type { PrunableFiles } from '../storage/stored-files.js';
import { keepReserve, RESERVE_FILE } from '../storage/disk-reserve.js';

const GiB = 1_073_741_824;
const MiB = 1_048_576;
/** The thresholds: warn below 10 % or 1 GiB free, critical below 2 % or 200 MiB. */
export const DISK_THRESHOLDS = { warnFraction: 0.1, warnBytes: GiB, criticalFraction: 0.02, criticalBytes: 200 * MiB };
const CHECK_EVERY_MS = 30_000;
const CRITICAL_KEY = 'disk_critical:gateway';
const LOW_KEY = 'disk_low:gateway';

export type DiskLevel = 'ok' | 'low' | 'critical';
export type DiskThresholds = typeof DISK_THRESHOLDS;
type RaiseInput = Parameters<GatewayContext['alerts']['tryRaise']>[0];

/** How much free space pruning aims at: twice the critical threshold (400 MiB or 4 %), still below the warning one. */
export function reclaimTarget(total: number, t: DiskThresholds = DISK_THRESHOLDS): number {
  return Math.ceil(2 * Math.max(t.criticalBytes, t.criticalFraction * total));
}

/** Files pruned per check at most: unlinking is quick, but the guard runs on the gateway's one thread. */
const MAX_FILES_PER_CHECK = 500;
const PAGE = 50;

/** The city outbox as the disk guard sees it (adapted by the composition root). */
export interface OutboxShedder {
  /** Drops about `bytes` of queued rows by the outbox's overflow policy; returns what went. */
  shed(bytes: number): { rows: number; bytes: number };
}

export interface DiskGuardOptions {
  /** Reads the free space of the data directory's filesystem (statfs by default). */
  stat?: (dir: string) => DiskSpace;
  thresholds?: DiskThresholds;
  /** Stores of files that may be pruned when the disk is critical (snapshots, clips), tried together, oldest first. */
  files?: readonly PrunableFiles[];
  /** Shed after the files, if the disk is still critical. */
  outbox?: OutboxShedder;
}

/** What one pass of pruning freed, by store (`outbox` for the outbox's rows). */
export type Reclaimed = Record<string, { items: number; bytes: number }>;

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
/** Sizes of what was pruned may be small: KiB below a MiB. */
const size = (n: number): string => (n < MiB ? `${Math.ceil(n / 1024)} KiB` : mb(n));

export class DiskGuard implements GatewayModule {
  readonly name = 'storage';
  private timer: NodeJS.Timeout | undefined;
  private level: DiskLevel = 'ok';
  private last: DiskSpace | undefined;

  private readonly stat: (dir: string) => DiskSpace;
  private readonly thresholds: DiskThresholds;
  private readonly reclaimedBytes: Counter<'store'>;
  private readonly reclaimedItems: Counter<'store'>;
  /** The outbox is shed once per critical spell, and again only while tap rows wait in memory for the database. */
  private outboxShedThisSpell = false;
  private lastReclaim: { at: number; freed: Reclaimed } | undefined;
  /**
   * The two alerts as the level wants them, set at a change of level and written again at each check until the
   * database takes them (a full disk refuses the raise that says so, and the resolve once space returns): only a change
   * of level wrote them, so the level was only in /healthz, or the alert stayed open for good.
   */
  private readonly critical: WantedAlert<RaiseInput>;
  private readonly low: WantedAlert<RaiseInput>;
  /**
   * The first check sets both as a change of level would: a new guard starts at ok, so an alert the run before left
   * open was never resolved.
   */
  private checked = false;
  /** The start's reserve (storage/disk-reserve.ts): made in full, or being made; then not looked at again. */
  private reserve: 'wanted' | 'making' | 'done' = 'wanted';

  constructor(
    private readonly ctx: GatewayContext,
    private readonly deferred: DeferredWrites,
    private readonly opts: DiskGuardOptions = {},
  ) {
    this.critical = new WantedAlert(ctx.alerts, CRITICAL_KEY);
    this.low = new WantedAlert(ctx.alerts, LOW_KEY);
    this.stat = opts.stat ?? statDisk;
    this.thresholds = opts.thresholds ?? DISK_THRESHOLDS;
    this.reclaimedBytes = new Counter({
      name: 'campus_disk_reclaimed_bytes_total',
      help: 'Bytes pruned because the disk was critical, by store (snapshots, clips, outbox)',
      labelNames: ['store'] as const,
      registers: [ctx.metrics],
    });
    this.reclaimedItems = new Counter({
      name: 'campus_disk_reclaimed_items_total',
      help: 'Files (snapshots, clips) or rows (outbox) pruned because the disk was critical, by store',
      labelNames: ['store'] as const,
      registers: [ctx.metrics],
    });
    new MetricFactory(ctx.metrics).sampled(
      'campus_disk_free_bytes',
      "Free bytes on the data directory's filesystem (for unprivileged users)",
      () => this.last?.free,
    );
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

  /** Reads the free space, raises or resolves the alerts and, when critical, makes room; returns the level. */
  check(): DiskLevel {
    if (!this.read()) return this.level;
    if (this.reserve === 'wanted') this.keepReserve();
    let level = this.classify();
    if (level !== 'critical') this.outboxShedThisSpell = false;
    if (level === 'critical') {
      const freed = this.reclaim();
      if (freed && this.read()) {
        level = this.classify();
        this.lastReclaim = { at: this.ctx.clock.now(), freed };
      }
    }
    return level;
  }

  /** Makes the start's reserve in the background once the disk can spare it twice over (disk-reserve.ts). */
  private keepReserve(): void {
    this.reserve = 'making';
    const bytes = this.ctx.config.storage.reserveMiB * MiB;
    // Not what makes the disk critical: the guard would then raise disk_critical and prune snapshots, clips and the
    // city outbox to win back the reserve's own bytes, on a disk that was only low. A disk critical already is being
    // pruned anyway, and the reserve is what lets a gateway stopped on it start again, so there it is made.
    const spare = (need: number): boolean => {
      const { free, total } = this.last!;
      return diskLevel(free, total, this.thresholds) === 'critical' || diskLevel(free - need, total, this.thresholds) !== 'critical';
    };
    keepReserve(this.ctx.config.dataDir, bytes, spare).then(
      (r) => {
        this.reserve = r === 'no_room' ? 'wanted' : 'done';
        if (r === 'made') this.ctx.log.info({ file: RESERVE_FILE, bytes }, 'kept space on the disk for a start on a full disk');
      },
      (err: unknown) => {
        this.reserve = 'done'; // not again every 30 s: the next start tries
        this.ctx.log.warn({ err, file: RESERVE_FILE }, 'could not keep space on the disk for a start on a full disk');
      },
    );
  }

  private read(): boolean {
    try {
      this.last = this.stat(this.ctx.config.dataDir);
      return true;
    } catch (err) {
      this.ctx.log.warn({ err }, 'cannot read the free space of the data directory');
      return false;
    }
  }

  private classify(): DiskLevel {
    const level = diskLevel(this.last!.free, this.last!.total, this.thresholds);
    if (level !== this.level || !this.checked) this.transition(level);
    else {
      this.critical.tick();
      this.low.tick();
    }
    this.checked = true;
    this.level = level;
    return level;
  }

  private spaceText(): string {
    return `${mb(this.last!.free)} free of ${mb(this.last!.total)} on the data directory's disk (${this.ctx.config.dataDir})`;
  }

  /**
   * Prunes toward reclaimTarget(): snapshots and clips first, oldest first across the stores; then the outbox if the
   * disk is still critical. Returns what went, or undefined when nothing did.
   */
  private reclaim(): Reclaimed | undefined {
    const { total } = this.last!;
    const target = reclaimTarget(total, this.thresholds);
    let need = target - this.last!.free;
    const freed: Reclaimed = {};
    const note = (store: string, items: number, bytes: number): void => {
      if (items === 0) return;
      const f = (freed[store] ??= { items: 0, bytes: 0 });
      f.items += items;
      f.bytes += bytes;
      this.reclaimedItems.inc({ store }, items);
      this.reclaimedBytes.inc({ store }, bytes);
    };
    try {
      let budget = MAX_FILES_PER_CHECK;
      while (need > 0 && budget > 0) {
        const batch = this.oldestFiles(Math.min(PAGE, budget), need);
        if (batch.length === 0) break;
        let removed = 0;
        for (const { store, ids, bytes } of batch) {
          const n = store.remove(ids);
          note(store.name, n, bytes);
          need -= bytes;
          removed += n;
        }
        if (removed === 0) break;
        budget -= removed;
      }
      const outbox = this.opts.outbox;
      if (outbox && (!this.outboxShedThisSpell || this.deferred.pending > 0) && this.read()) {
        const stillNeed = target - this.last!.free;
        if (diskLevel(this.last!.free, total, this.thresholds) === 'critical' && stillNeed > 0) {
          // Rows deleted from SQLite free pages inside the database file (new taps reuse them) rather than on the
          // disk, so free space does not show it: hence once per critical spell, not at every check.
          this.outboxShedThisSpell = true;
          const shed = outbox.shed(stillNeed);
          note('outbox', shed.rows, shed.bytes);
        }
      }
    } catch (err) {
      this.ctx.log.error({ err }, 'pruning for disk space failed');
    }
    if (Object.keys(freed).length === 0) return undefined;
    this.ctx.log.warn(
      { freed, freeBytes: this.last!.free, targetBytes: target },
      `disk critical: pruned ${describeReclaimed(freed)} to make room`,
    );
    return freed;
  }

  /**
   * The next files to prune, oldest first across the stores: at most `limit` and no more than `need` bytes' worth
   * (plus the one that crosses it). A store whose page came back full may have older files than another store's
   * later ones, so nothing after the earliest last id of a full page is taken in this round.
   */
  private oldestFiles(limit: number, need: number): { store: PrunableFiles; ids: string[]; bytes: number }[] {
    const stores = this.opts.files ?? [];
    const pages = stores.map((store) => ({ store, files: store.oldest(limit) }));
    let bound: string | undefined;
    for (const p of pages) {
      const lastId = p.files.at(-1)?.id;
      if (p.files.length >= limit && lastId !== undefined && (bound === undefined || lastId < bound)) bound = lastId;
    }
    const merged = pages
      .flatMap((p) => p.files.map((f) => ({ ...f, store: p.store })))
      .filter((f) => bound === undefined || f.id <= bound)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const picked = new Map<PrunableFiles, { store: PrunableFiles; ids: string[]; bytes: number }>();
    let sum = 0;
    let count = 0;
    for (const f of merged) {
      if (sum >= need || count >= limit) break;
      let entry = picked.get(f.store);
      if (!entry) picked.set(f.store, (entry = { store: f.store, ids: [], bytes: 0 }));
      entry.ids.push(f.id);
      entry.bytes += f.bytes;
      sum += f.bytes;
      count++;
    }
    return [...picked.values()];
  }

  private transition(level: DiskLevel): void {
    const where = this.ctx.config.dataDir;
    const free = this.last!;
    const data = { freeBytes: free.free, totalBytes: free.total, dataDir: where };
    const text = this.spaceText();
    // A full disk may refuse the alert itself (counted and logged by tryRaise): the metric and /healthz still say it,
    // and the next check writes it again.
    if (level === 'critical') {
      this.critical.raise({ type: 'disk_critical', severity: 'critical', source: 'gateway', message: `${text}: taps are answered from memory, canteen payments refused when writes fail`, data });
    } else {
      this.critical.resolve(text);
    }
    if (level === 'low') {
      this.low.raise({ type: 'disk_low', severity: 'warning', source: 'gateway', message: `${text}: free some space or move backups and snapshots`, data });
    } else {
      this.low.resolve(text);
    }
  }

  health(): ComponentHealth {
    const pending = this.deferred.pending;
    const space = this.last ? `${mb(this.last.free)} free of ${mb(this.last.total)}` : 'free space unknown';
    const waiting = pending > 0 ? `; ${pending} rows waiting in memory for the database` : '';
    const pruned = this.lastReclaim
      ? `; pruned ${describeReclaimed(this.lastReclaim.freed)} at ${new Date(this.lastReclaim.at).toISOString()}`
      : '';
    // For the console: MiB as numbers ('—' before the first measurement), rows waiting, items pruned last time.
    const params = {
      freeMiB: this.last ? Math.round(this.last.free / MiB) : '—',
      totalMiB: this.last ? Math.round(this.last.total / MiB) : '—',
      waiting: pending,
      pruned: this.lastReclaim ? Object.values(this.lastReclaim.freed).reduce((n, f) => n + f.items, 0) : 0,
    };
    if (this.level === 'critical') return { ok: false, detail: `critical: ${space}${waiting}${pruned}`, code: 'disk_critical', params };
    if (this.level === 'low' || pending > 0) {
      return { ok: pending === 0, detail: `${this.level === 'low' ? 'low' : 'ok'}: ${space}${waiting}${pruned}`, code: this.level === 'low' ? 'disk_low' : 'disk_rows_waiting', params };
    }
    return { ok: true, detail: `${space}${pruned}`, code: 'disk_ok', params };
  }
}

/** "3 snapshots (2 MiB), 1 clip (40 MiB), 120 outbox rows (1 MiB)" */
export function describeReclaimed(freed: Reclaimed): string {
  const unit: Record<string, [string, string]> = { snapshots: ['snapshot', 'snapshots'], clips: ['clip', 'clips'], outbox: ['outbox row', 'outbox rows'] };
  return Object.entries(freed)
    .map(([store, f]) => {
      const [one, many] = unit[store] ?? [store, store];
      return `${f.items} ${f.items === 1 ? one : many} (${size(f.bytes)})`;
    })
    .join(', ');
}

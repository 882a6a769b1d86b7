import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { monotonicFactory } from 'ulid';
import type { Clock } from '../core/clock.js';
import { GatewayError } from '../core/errors.js';
import type { Database } from './db.js';
import { privateDir } from './private-files.js';

/**
 * Deletes rows of a table of stored files (snapshots, clips) by id in one transaction, then their files. A file
 * that cannot be removed is left for the store's own reconcile() at the next start: the row is what counts.
 */
export function removeStoredFiles(db: Database, table: string, ids: readonly string[], fileOf: (id: string) => string): number {
  const del = db.prepare(`DELETE FROM ${table} WHERE id = ?`);
  db.transaction(() => {
    for (const id of ids) del.run(id);
  })();
  for (const id of ids) {
    try {
      unlinkSync(fileOf(id));
    } catch {
      // reconcile() tidies up whatever is left
    }
  }
  return ids.length;
}

/** One stored file as the disk guard sees it: ids are ULIDs, so they sort by age across stores. */
export interface StoredFile {
  id: string;
  bytes: number;
}

/**
 * A store of files the disk guard may thin out when the disk is critical (gateway/operations/disk-guard.ts). The
 * composition root adapts the snapshot and clip stores to it and decides which files are kept (those of open alerts).
 */
export interface PrunableFiles {
  /** For the log and the metric label: `snapshots`, `clips`. */
  readonly name: string;
  /** Up to `limit` of the oldest files that may go, oldest first. */
  oldest(limit: number): StoredFile[];
  remove(ids: readonly string[]): number;
}

/**
 * The oldest rows of a table of stored files that have a file (`hasFile`, an SQL condition), oldest first, leaving
 * out those attached to one of `keepAlerts`.
 */
export function oldestStoredFiles(
  db: Database,
  table: string,
  limit: number,
  keepAlerts: ReadonlySet<string>,
  hasFile = '1',
): StoredFile[] {
  const out: StoredFile[] = [];
  if (limit <= 0) return out;
  const rows = db.prepare(`SELECT id, bytes, alert_id FROM ${table} WHERE ${hasFile} ORDER BY id`).iterate() as IterableIterator<{
    id: string;
    bytes: number;
    alert_id: string | null;
  }>;
  for (const r of rows) {
    if (r.alert_id !== null && keepAlerts.has(r.alert_id)) continue;
    out.push({ id: r.id, bytes: r.bytes });
    if (out.length >= limit) break;
  }
  return out;
}

/** Crockford base32 ULID: the only shape of id that maps to a file, so no path can be smuggled in. */
export const STORED_FILE_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** How many files a store keeps and how many bytes they may take together. */
export interface FileRetention {
  maxCount: number;
  maxBytes: number;
}

/** What tells one store of files from another. */
export interface StoredFilesSpec {
  /** The table with a row per file: `id` (a ULID), `bytes`, `alert_id`. */
  table: string;
  /** The files' extension, without the dot. */
  ext: string;
  /** For messages: `snapshot`, `clip`. */
  what: string;
  /** SQL condition for rows that have a file (a clip row may only say why there is none). */
  hasFile: string;
}

/**
 * Files of pupils' pictures under `dir` as `<ulid>.<ext>`, one row each in SQLite, kept within a count and a byte
 * cap: what the snapshot and clip stores share. The directory is made private (0700) on start.
 */
export abstract class StoredFileStore {
  protected readonly ulid = monotonicFactory();
  /** The directory's mode before it was tightened to 0700 at start (an older version's), for the log. */
  readonly dirWas: string | null;

  protected constructor(
    protected readonly db: Database,
    readonly dir: string,
    protected readonly clock: Clock,
    protected readonly retention: FileRetention,
    private readonly spec: StoredFilesSpec,
  ) {
    this.dirWas = privateDir(dir)?.was ?? null;
  }

  /** Throws bad_request unless `id` is the id of a file (a ULID). */
  protected checkId(id: string): void {
    if (!STORED_FILE_ID.test(id)) throw new GatewayError('bad_request', `params.id: a ${this.spec.what} id (ULID)`);
  }

  file(id: string): string {
    this.checkId(id);
    return join(this.dir, `${id}.${this.spec.ext}`);
  }

  /** Files kept and their bytes. */
  totals(): { count: number; bytes: number } {
    return this.db.prepare(`SELECT COUNT(*) AS count, COALESCE(SUM(bytes), 0) AS bytes FROM ${this.spec.table} WHERE ${this.spec.hasFile}`).get() as {
      count: number;
      bytes: number;
    };
  }

  /** The oldest files, oldest first, except those of `keepAlerts` (for the disk guard). */
  oldest(limit: number, keepAlerts: ReadonlySet<string>): StoredFile[] {
    return oldestStoredFiles(this.db, this.spec.table, limit, keepAlerts, this.spec.hasFile);
  }

  /** Deletes files and their rows; returns how many. */
  remove(ids: readonly string[]): number {
    return removeStoredFiles(this.db, this.spec.table, ids.filter((id) => STORED_FILE_ID.test(id)), (id) => this.file(id));
  }

  /**
   * Deletes files in the order `candidates` (SQL selecting `id, bytes`, with `args`) lists them until both caps hold
   * again; returns how many went. Nothing is read while the caps hold.
   */
  protected pruneFrom(candidates: string, ...args: unknown[]): number {
    let { count, bytes } = this.totals();
    const within = (): boolean => count <= this.retention.maxCount && bytes <= this.retention.maxBytes;
    if (within()) return 0;
    const gone: string[] = [];
    for (const v of this.db.prepare(candidates).iterate(...args) as IterableIterator<StoredFile>) {
      if (within()) break;
      gone.push(v.id);
      count--;
      bytes -= v.bytes;
    }
    return removeStoredFiles(this.db, this.spec.table, gone, (id) => this.file(id));
  }
}

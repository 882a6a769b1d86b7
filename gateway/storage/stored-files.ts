import { unlinkSync } from 'node:fs';
import type { Database } from './db.js';

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

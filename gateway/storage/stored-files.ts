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

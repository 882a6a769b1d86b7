import { readdirSync, unlinkSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { notFound } from '../core/errors.js';
import type { Database, Migration } from '../storage/db.js';
import { STORED_FILE_ID, StoredFileStore, type FileRetention } from '../storage/stored-files.js';
import { PRIVATE_FILE_MODE, privateFileIfExists } from '../storage/private-files.js';

export const snapshotMigrations: Migration[] = [
  {
    version: 41,
    name: 'camera snapshots',
    up: `
      CREATE TABLE camera_snapshots (
        id TEXT PRIMARY KEY,
        camera_id TEXT NOT NULL,
        taken_at TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        reason TEXT NOT NULL,
        alert_id TEXT
      );
      CREATE INDEX camera_snapshots_camera ON camera_snapshots (camera_id, id);`,
  },
];

export const SNAPSHOT_ID = STORED_FILE_ID;

export type SnapshotReason = 'fresh' | 'evidence' | 'routine';

export interface SnapshotMeta {
  id: string;
  cameraId: string;
  takenAt: string;
  bytes: number;
  reason: SnapshotReason;
  /** The alert it is evidence for, if any. */
  alertId: string | null;
}

interface Row {
  id: string;
  camera_id: string;
  taken_at: string;
  bytes: number;
  reason: SnapshotReason;
  alert_id: string | null;
}

const fromRow = (r: Row): SnapshotMeta => ({
  id: r.id,
  cameraId: r.camera_id,
  takenAt: r.taken_at,
  bytes: r.bytes,
  reason: r.reason,
  alertId: r.alert_id,
});

/**
 * JPEGs under `<dataDir>/snapshots/<ulid>.jpg`, indexed in SQLite, kept within a count and a byte cap.
 * Over a cap, routine snapshots go first (oldest first), evidence after them, so an alert's picture outlives
 * the pictures nobody asked about; the caps hold either way, so the disk never fills. Pictures of pupils are
 * personal data: the directory is 0700 and every file 0600.
 */
export class SnapshotStore extends StoredFileStore {
  constructor(db: Database, dir: string, clock: Clock, retention: FileRetention) {
    super(db, dir, clock, retention, { table: 'camera_snapshots', ext: 'jpg', what: 'snapshot', hasFile: '1' });
  }

  /**
   * Removes files without a row and rows without a file (a crash between the two writes), and tightens kept files
   * an older version wrote readable by others to 0600 (`tightened`).
   */
  reconcile(): { files: number; rows: number; tightened: number } {
    const ids = new Set((this.db.prepare('SELECT id FROM camera_snapshots').all() as { id: string }[]).map((r) => r.id));
    const onDisk = new Set<string>();
    let files = 0;
    let tightened = 0;
    for (const name of readdirSync(this.dir)) {
      const id = name.replace(/\.jpg(\.tmp)?$/, '');
      if (name.endsWith('.jpg') && ids.has(id)) {
        onDisk.add(id);
        if (privateFileIfExists(join(this.dir, name))) tightened++;
        continue;
      }
      try {
        unlinkSync(join(this.dir, name));
        files++;
      } catch {
        // gone already
      }
    }
    let rows = 0;
    const del = this.db.prepare('DELETE FROM camera_snapshots WHERE id = ?');
    for (const id of ids) if (!onDisk.has(id)) rows += del.run(id).changes;
    return { files, rows, tightened };
  }

  async save(cameraId: string, jpeg: Buffer, reason: SnapshotReason, alertId: string | null = null): Promise<SnapshotMeta> {
    const now = this.clock.now();
    const id = this.ulid(now);
    const path = this.file(id);
    await writeFile(`${path}.tmp`, jpeg, { mode: PRIVATE_FILE_MODE });
    await rename(`${path}.tmp`, path);
    try {
      this.db
        .prepare('INSERT INTO camera_snapshots (id, camera_id, taken_at, bytes, reason, alert_id) VALUES (?, ?, ?, ?, ?, ?)')
        .run(id, cameraId, new Date(now).toISOString(), jpeg.length, reason, alertId);
    } catch (err) {
      await unlink(path).catch(() => {});
      throw err;
    }
    this.prune(id);
    return this.get(id);
  }

  get(id: string): SnapshotMeta {
    this.checkId(id);
    const row = this.db.prepare('SELECT * FROM camera_snapshots WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw notFound(`snapshot ${id}`);
    return fromRow(row);
  }

  latest(cameraId: string): SnapshotMeta | null {
    const row = this.db.prepare('SELECT * FROM camera_snapshots WHERE camera_id = ? ORDER BY id DESC LIMIT 1').get(cameraId) as
      | Row
      | undefined;
    return row ? fromRow(row) : null;
  }

  /** Deletes over-cap snapshots (never `keep`, the one just taken); returns how many went. */
  prune(keep?: string): number {
    // Routine pictures before evidence, oldest first.
    return this.pruneFrom('SELECT id, bytes FROM camera_snapshots WHERE id != ? ORDER BY (alert_id IS NOT NULL), id', keep ?? '');
  }
}

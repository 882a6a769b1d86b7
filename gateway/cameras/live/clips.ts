/**
 * Alert clips: MP4 files (faststart, so a browser plays them before they are fully loaded) under
 * `<dataDir>/clips/<ulid>.mp4`, indexed in SQLite, kept within a count and a byte cap (oldest first). A clip that
 * could not be made (the camera was down at the time) is a row without a file that says why.
 */
import { execFile } from 'node:child_process';
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { open, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Clock } from '../../core/clock.js';
import { GatewayError, notFound } from '../../core/errors.js';
import type { Database, Migration } from '../../storage/db.js';
import { PRIVATE_FILE_MODE, privateFileIfExists } from '../../storage/private-files.js';
import { STORED_FILE_ID, StoredFileStore, type FileRetention } from '../../storage/stored-files.js';
import type { Segment } from './preroll.js';

const run = promisify(execFile);

export const clipMigrations: Migration[] = [
  {
    version: 42,
    name: 'camera clips',
    up: `
      CREATE TABLE camera_clips (
        id TEXT PRIMARY KEY,
        camera_id TEXT NOT NULL,
        alert_id TEXT,
        event_at TEXT NOT NULL,
        start_at TEXT,
        end_at TEXT,
        bytes INTEGER NOT NULL,
        error TEXT
      );
      CREATE INDEX camera_clips_alert ON camera_clips (alert_id);`,
  },
];

export const CLIP_ID = STORED_FILE_ID;

export interface ClipMeta {
  id: string;
  cameraId: string;
  alertId: string | null;
  eventAt: string;
  /** What the clip covers (wall clock of its first and last segment); null when there is no video. */
  startAt: string | null;
  endAt: string | null;
  bytes: number;
  /** Why there is no video, e.g. the camera was down. */
  error: string | null;
}

interface Row {
  id: string;
  camera_id: string;
  alert_id: string | null;
  event_at: string;
  start_at: string | null;
  end_at: string | null;
  bytes: number;
  error: string | null;
}

const fromRow = (r: Row): ClipMeta => ({
  id: r.id,
  cameraId: r.camera_id,
  alertId: r.alert_id,
  eventAt: r.event_at,
  startAt: r.start_at,
  endAt: r.end_at,
  bytes: r.bytes,
  error: r.error,
});

const iso = (t: number): string => new Date(t).toISOString();

export class ClipStore extends StoredFileStore {
  constructor(
    db: Database,
    dir: string,
    clock: Clock,
    retention: FileRetention,
    private readonly ffmpegPath: string,
    private readonly openAlerts: () => ReadonlySet<string> = () => new Set(),
  ) {
    // A row with an error has no file: it only says why there is no clip.
    super(db, dir, clock, retention, { table: 'camera_clips', ext: 'mp4', what: 'clip', hasFile: 'error IS NULL' });
  }

  /**
   * Removes files without a row and rows whose file is gone (a crash half-way), and tightens kept clips an older
   * version left readable by others (ffmpeg's default 0644) to 0600.
   */
  reconcile(): void {
    const rows = this.db.prepare('SELECT id, error FROM camera_clips').all() as { id: string; error: string | null }[];
    const ids = new Set(rows.map((r) => r.id));
    for (const name of readdirSync(this.dir)) {
      if (name.endsWith('.mp4') && ids.has(name.slice(0, -4))) {
        privateFileIfExists(join(this.dir, name));
        continue;
      }
      try {
        unlinkSync(join(this.dir, name));
      } catch {
        // gone already
      }
    }
    const del = this.db.prepare('DELETE FROM camera_clips WHERE id = ?');
    for (const r of rows) {
      if (r.error !== null) continue;
      try {
        statSync(this.file(r.id));
      } catch {
        del.run(r.id);
      }
    }
  }

  get(id: string): ClipMeta {
    this.checkId(id);
    const row = this.db.prepare('SELECT * FROM camera_clips WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw notFound(`clip ${id}`);
    return fromRow(row);
  }

  /** Records that there is no clip for an event, and why. */
  failed(cameraId: string, alertId: string | null, eventAt: number, error: string): ClipMeta {
    const id = this.ulid(this.clock.now());
    this.db
      .prepare('INSERT INTO camera_clips (id, camera_id, alert_id, event_at, bytes, error) VALUES (?, ?, ?, ?, 0, ?)')
      .run(id, cameraId, alertId, iso(eventAt), error);
    return this.get(id);
  }

  /**
   * Concatenates the segments (`-c copy`, no re-encoding) into one faststart MP4 and stores it. `signal` (the video
   * stopping) kills ffmpeg: a cut finishing after the database closed left its file without a row.
   */
  async cut(cameraId: string, alertId: string | null, eventAt: number, segments: Segment[], signal?: AbortSignal): Promise<ClipMeta> {
    if (!segments.length) throw new GatewayError('no_video', 'no segments to cut a clip from');
    const id = this.ulid(this.clock.now());
    const out = this.file(id);
    const list = join(this.dir, `${id}.txt`);
    await writeFile(list, segments.map((s) => `file '${s.file.replace(/'/g, "'\\''")}'\n`).join(''));
    try {
      // ffmpeg creates its output 0644 (0666 less the umask); made 0600 first, the file keeps that mode when ffmpeg
      // truncates and writes it (-y), so the clip is never readable by others, not even half-written. Tightened again
      // afterwards in case an ffmpeg replaced the file instead.
      await (await open(`${out}.tmp`, 'w', PRIVATE_FILE_MODE)).close();
      await run(this.ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', `${out}.tmp`], {
        timeout: 60_000,
        ...(signal ? { signal } : {}),
      });
      privateFileIfExists(`${out}.tmp`);
      await rename(`${out}.tmp`, out);
    } catch (err) {
      await unlink(`${out}.tmp`).catch(() => {});
      throw new GatewayError('no_video', `cutting the clip failed: ${(err as Error).message.split('\n').slice(-2).join(' ')}`);
    } finally {
      await unlink(list).catch(() => {});
    }
    const bytes = statSync(out).size;
    try {
      this.db
        .prepare('INSERT INTO camera_clips (id, camera_id, alert_id, event_at, start_at, end_at, bytes, error) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)')
        .run(id, cameraId, alertId, iso(eventAt), iso(segments[0]!.startAt), iso(segments.at(-1)!.endAt), bytes);
    } catch (err) {
      // A row refused (a full disk): its file went too, as a snapshot's does. It stayed until the next start's reconcile,
      // each clip of an alert storm filling the disk that was full.
      await unlink(out).catch(() => {});
      throw err;
    }
    this.prune(id);
    return this.get(id);
  }

  /**
   * Deletes the oldest clips (never `keep`, the one just made) until both caps hold; returns how many went. Clips of
   * alerts not resolved yet go last: a camera raising alert after alert took the clip of an open one (an attacker
   * review, 2026-12-06), as the disk guard never does.
   */
  prune(keep = ''): number {
    const open = JSON.stringify([...this.openAlerts()]);
    const gone = this.pruneFrom(
      'SELECT id, bytes FROM camera_clips WHERE error IS NULL AND id != ? ORDER BY (alert_id IN (SELECT value FROM json_each(?))), id',
      keep,
      open,
    );
    // Rows that only say "no video" are small but not free: the newest thousand are enough to explain alerts.
    this.db.prepare('DELETE FROM camera_clips WHERE error IS NOT NULL AND id NOT IN (SELECT id FROM camera_clips WHERE error IS NOT NULL ORDER BY id DESC LIMIT 1000)').run();
    return gone;
  }
}

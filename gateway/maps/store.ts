/**
 * Campus maps (migrations 60–69): one row per map (an area's floor plan or the campus picture), its pins, and the
 * picture itself under `<dataDir>/maps/<id>` (0700 folder, 0600 files, like every file the gateway keeps). A floor plan
 * is not personal data, but it shows where the cameras are and which doors lock: it stays private to signed-in users.
 */
import { readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { deviceId } from '../../config/common.js';
import type { Clock } from '../core/clock.js';
import { notFound } from '../core/errors.js';
import type { Database, Migration } from '../storage/db.js';
import { PRIVATE_FILE_MODE, privateDir, privateFileIfExists } from '../storage/private-files.js';
import type { MapImageType } from './image.js';

export const mapMigrations: Migration[] = [
  {
    version: 60,
    name: 'campus maps and their pins',
    up: `
      CREATE TABLE campus_maps (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        zone TEXT,
        image_type TEXT CHECK (image_type IN ('image/png','image/jpeg','image/webp')),
        image_bytes INTEGER,
        image_version INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE campus_map_pins (
        map_id INTEGER NOT NULL REFERENCES campus_maps(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('access-point','camera','sensor')),
        device_id TEXT NOT NULL,
        x REAL NOT NULL CHECK (x >= 0 AND x <= 1),
        y REAL NOT NULL CHECK (y >= 0 AND y <= 1),
        PRIMARY KEY (map_id, kind, device_id)
      );`,
  },
];

export const pinKind = z.enum(['access-point', 'camera', 'sensor']);
export type PinKind = z.infer<typeof pinKind>;

/** A pin: a device at a place on the picture, as fractions of its width and height (so any screen size fits). */
export const pinSchema = z.strictObject({
  kind: pinKind,
  deviceId,
  x: z.number().min(0).max(1),
  y: z.number().min(0).max(1),
});
export type MapPin = z.infer<typeof pinSchema>;

export interface CampusMap {
  id: number;
  name: string;
  zone: string | null;
  /** null until a picture is uploaded. */
  image: { type: MapImageType; bytes: number; version: number } | null;
  pins: MapPin[];
  createdAt: string;
  updatedAt: string;
}

interface Row {
  id: number;
  name: string;
  zone: string | null;
  image_type: MapImageType | null;
  image_bytes: number | null;
  image_version: number;
  created_at: string;
  updated_at: string;
}

export class MapStore {
  constructor(
    private readonly db: Database,
    readonly dir: string,
    private readonly clock: Clock,
  ) {
    privateDir(dir);
  }

  /** Removes pictures without a map (a crash between file and row, a map deleted meanwhile) and tightens the rest. */
  reconcile(): { removed: number } {
    const live = new Set(this.list().flatMap((m) => (m.image ? [this.fileName(m.id, m.image.version)] : [])));
    let removed = 0;
    for (const name of readdirSync(this.dir)) {
      if (live.has(name)) {
        privateFileIfExists(join(this.dir, name));
        continue;
      }
      try {
        unlinkSync(join(this.dir, name));
        removed++;
      } catch {
        // gone already
      }
    }
    return { removed };
  }

  list(): CampusMap[] {
    const rows = this.db.prepare('SELECT * FROM campus_maps ORDER BY name, id').all() as Row[];
    return rows.map((r) => this.fromRow(r));
  }

  get(id: number): CampusMap {
    const row = this.db.prepare('SELECT * FROM campus_maps WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw notFound(`map ${id}`);
    return this.fromRow(row);
  }

  create(input: { name: string; zone?: string | undefined }): CampusMap {
    const now = new Date(this.clock.now()).toISOString();
    const { lastInsertRowid } = this.db
      .prepare('INSERT INTO campus_maps (name, zone, created_at, updated_at) VALUES (?, ?, ?, ?)')
      .run(input.name, input.zone ?? null, now, now);
    return this.get(Number(lastInsertRowid));
  }

  /** Replaces the map's pins at once: the editor sends the whole set, so a half-saved layout never shows. */
  setPins(id: number, pins: readonly MapPin[]): CampusMap {
    this.get(id);
    const del = this.db.prepare('DELETE FROM campus_map_pins WHERE map_id = ?');
    const ins = this.db.prepare('INSERT INTO campus_map_pins (map_id, kind, device_id, x, y) VALUES (?, ?, ?, ?, ?)');
    const touch = this.db.prepare('UPDATE campus_maps SET updated_at = ? WHERE id = ?');
    this.db.transaction(() => {
      del.run(id);
      for (const p of pins) ins.run(id, p.kind, p.deviceId, p.x, p.y);
      touch.run(new Date(this.clock.now()).toISOString(), id);
    })();
    return this.get(id);
  }

  /**
   * Stores a picture already checked (type by its magic bytes, size by the cap): written 0600 under a new name, then
   * the row points at it, then the old file goes. A crash leaves at worst an orphan file that reconcile() removes.
   */
  setImage(id: number, type: MapImageType, bytes: Buffer): CampusMap {
    const before = this.get(id);
    const version = (before.image?.version ?? 0) + 1;
    const file = join(this.dir, this.fileName(id, version));
    writeFileSync(`${file}.tmp`, bytes, { mode: PRIVATE_FILE_MODE });
    renameSync(`${file}.tmp`, file);
    try {
      this.db
        .prepare('UPDATE campus_maps SET image_type = ?, image_bytes = ?, image_version = ?, updated_at = ? WHERE id = ?')
        .run(type, bytes.length, version, new Date(this.clock.now()).toISOString(), id);
    } catch (err) {
      this.unlink(file);
      throw err;
    }
    if (before.image) this.unlink(join(this.dir, this.fileName(id, before.image.version)));
    return this.get(id);
  }

  /** The picture's file and type; not found when the map has none yet. */
  image(id: number): { file: string; type: MapImageType; bytes: number } {
    const m = this.get(id);
    if (!m.image) throw notFound(`map ${id}'s picture`);
    return { file: join(this.dir, this.fileName(id, m.image.version)), type: m.image.type, bytes: m.image.bytes };
  }

  delete(id: number): void {
    const m = this.get(id);
    this.db.prepare('DELETE FROM campus_maps WHERE id = ?').run(id);
    if (m.image) this.unlink(join(this.dir, this.fileName(id, m.image.version)));
  }

  private fileName(id: number, version: number): string {
    return `${id}-${version}.img`;
  }

  private unlink(file: string): void {
    try {
      unlinkSync(file);
    } catch {
      // gone already
    }
  }

  private fromRow(r: Row): CampusMap {
    const pins = (this.db.prepare('SELECT kind, device_id, x, y FROM campus_map_pins WHERE map_id = ? ORDER BY kind, device_id').all(r.id) as {
      kind: PinKind;
      device_id: string;
      x: number;
      y: number;
    }[]).map((p) => ({ kind: p.kind, deviceId: p.device_id, x: p.x, y: p.y }));
    return {
      id: r.id,
      name: r.name,
      zone: r.zone,
      image: r.image_type && r.image_bytes !== null ? { type: r.image_type, bytes: r.image_bytes, version: r.image_version } : null,
      pins,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }
}

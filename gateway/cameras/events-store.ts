/**
 * What the cameras saw (motion, line and field crossings, tamper), kept so the timeline can page back through it
 * (migration 43). Until now an event lived only on the bus and in `lastEvent`: a guard asking "what moved at the
 * east gate at 02:10" had nothing to look at. Only occurrences are kept: `Initialized` states sent on every
 * (re)subscription and the ends of motion say nothing new.
 */
import type { Database, Migration } from '../storage/db.js';

export const cameraEventMigrations: Migration[] = [
  {
    version: 43,
    name: 'camera events',
    // `at` in epoch ms like taps.at, so the timeline merges them without parsing text.
    up: `
      CREATE TABLE camera_events (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        camera_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        topic TEXT NOT NULL,
        access_points TEXT NOT NULL,
        zones TEXT NOT NULL
      );
      CREATE INDEX camera_events_at ON camera_events (at, id);
      CREATE INDEX camera_events_camera ON camera_events (camera_id, at, id);`,
  },
];

/** Days a camera event is kept: a busy corridor camera reports motion every few seconds. */
export const CAMERA_EVENT_RETENTION_DAYS = 30;
const PRUNE_EVERY = 500;

export interface CameraEventRecord {
  at: number;
  cameraId: string;
  kind: string;
  topic: string;
  accessPoints: string[];
  zones: string[];
}

export class CameraEventsStore {
  private readonly insert;
  private readonly prune;
  private sincePrune = 0;

  constructor(db: Database) {
    this.insert = db.prepare('INSERT INTO camera_events (at, camera_id, kind, topic, access_points, zones) VALUES (?, ?, ?, ?, ?, ?)');
    this.prune = db.prepare('DELETE FROM camera_events WHERE at < ?');
  }

  record(e: CameraEventRecord): void {
    this.insert.run(e.at, e.cameraId, e.kind, e.topic.slice(0, 200), JSON.stringify(e.accessPoints), JSON.stringify(e.zones));
    if (++this.sincePrune >= PRUNE_EVERY) {
      this.sincePrune = 0;
      this.prune.run(e.at - CAMERA_EVENT_RETENTION_DAYS * 86_400_000);
    }
  }
}

/**
 * What the gateway remembers about each controller (migration 70, range 70–79 in docs/architecture.md):
 * the highest event index it has recorded from the controller's log (every index up to it is recorded, since events
 * are taken strictly in order), which taps came from which log entry, live or read back, the remote opens, and
 * whether it left the controller's doors normally closed.
 */
import type { Database, Migration } from '../../../gateway/storage/db.js';
import type { WriteOp } from '../../../gateway/storage/batch-writer.js';

export const controllerMigrations: Migration[] = [
  {
    version: 70,
    name: 'controllers',
    up: `
      CREATE TABLE controller_state (
        device_id TEXT PRIMARY KEY,
        serial INTEGER NOT NULL,
        last_index INTEGER NOT NULL,
        last_full_sync TEXT,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE controller_taps (
        tap_id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        event_index INTEGER NOT NULL,
        backfilled INTEGER NOT NULL CHECK (backfilled IN (0, 1)),
        controller_time TEXT
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX controller_taps_event ON controller_taps (device_id, event_index);`,
  },
  {
    version: 71,
    name: 'controller taps remember the swipe',
    // The card and time of the log entry a tap came from: an entry read again (a log that seemed to start over) is
    // known by them and never recorded twice, while a restarted log's new entry at a reused index is not mistaken for it.
    up: `
      ALTER TABLE controller_taps ADD COLUMN uid TEXT;
      ALTER TABLE controller_taps ADD COLUMN at INTEGER;`,
  },
  {
    version: 72,
    name: 'remote door opens',
    // Who opened which doors remotely, when and why: the timeline shows it to every guard (it was only in the log).
    up: `
      CREATE TABLE door_opens (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        access_point TEXT NOT NULL,
        readers TEXT NOT NULL,
        by TEXT NOT NULL,
        reason TEXT NOT NULL
      );
      CREATE INDEX door_opens_at ON door_opens (at);
      CREATE INDEX door_opens_access_point ON door_opens (access_point, at);`,
  },
  {
    version: 73,
    name: 'doors a lockdown left closed',
    // The controllers whose lockable doors the gateway set normally closed and not yet controlled again (lockdown.ts).
    // Kept in memory only, a lockdown that ended while one was away, then a restart before it came back, left its doors
    // closed to every card for good.
    up: `CREATE TABLE controller_doors_closed (device_id TEXT PRIMARY KEY, at TEXT NOT NULL) WITHOUT ROWID;`,
  },
];

/** A remote open as recorded (the `door.remote_opened` event). */
export interface DoorOpen {
  accessPoint: string;
  readers: string[];
  by: string;
  reason: string;
  at: number;
}

export interface ControllerStateRow {
  deviceId: string;
  serial: number;
  lastIndex: number;
  lastFullSync: string | null;
}

export class ControllerStore {
  constructor(private readonly db: Database) {}

  state(deviceId: string): ControllerStateRow | undefined {
    return this.db
      .prepare('SELECT device_id AS deviceId, serial, last_index AS lastIndex, last_full_sync AS lastFullSync FROM controller_state WHERE device_id = ?')
      .get(deviceId) as ControllerStateRow | undefined;
  }

  /** Where reading a controller's log starts: its current last index the first time we meet it (or a replaced one). */
  setBaseline(deviceId: string, serial: number, lastIndex: number, at: string): void {
    this.db
      .prepare(
        `INSERT INTO controller_state (device_id, serial, last_index, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(device_id) DO UPDATE SET serial = excluded.serial, last_index = excluded.last_index, updated_at = excluded.updated_at`,
      )
      .run(deviceId, serial, lastIndex, at);
  }

  setFullSync(deviceId: string, at: string): void {
    this.db.prepare('UPDATE controller_state SET last_full_sync = ?, updated_at = ? WHERE device_id = ?').run(at, at, deviceId);
  }

  /** Advances the recorded index (never backwards); runs inside a batch (the tap's own transaction for swipes). */
  advanceOp(deviceId: string, index: number, at: string): WriteOp {
    return (db) => {
      db.prepare('UPDATE controller_state SET last_index = max(last_index, ?), updated_at = ? WHERE device_id = ?').run(index, at, deviceId);
    };
  }

  /** The tap row's companion: which log entry it came from. OR IGNORE: a write op must not throw inside a tap's batch. */
  tapOp(tapId: string, deviceId: string, index: number, backfilled: boolean, swipe: { uid: string; at: number }): WriteOp {
    return (db) => {
      db.prepare('INSERT OR IGNORE INTO controller_taps (tap_id, device_id, event_index, backfilled, uid, at) VALUES (?, ?, ?, ?, ?, ?)').run(
        tapId, deviceId, index, backfilled ? 1 : 0, swipe.uid, swipe.at,
      );
    };
  }

  /** Whether this swipe (the same card at the same time) is recorded for this log entry already. */
  hasSwipe(deviceId: string, index: number, swipe: { uid: string; at: number }): boolean {
    return this.db.prepare('SELECT 1 FROM controller_taps WHERE device_id = ? AND event_index = ? AND uid = ? AND at = ?').get(deviceId, index, swipe.uid, swipe.at) !== undefined;
  }

  /** Whether the tap for a log entry is recorded (after a wait for its decision ran out). */
  hasTap(deviceId: string, index: number): boolean {
    return this.db.prepare('SELECT 1 FROM controller_taps WHERE device_id = ? AND event_index = ?').get(deviceId, index) !== undefined;
  }

  recordOpen(e: DoorOpen): void {
    this.db.prepare('INSERT INTO door_opens (at, access_point, readers, by, reason) VALUES (?, ?, ?, ?, ?)').run(e.at, e.accessPoint, JSON.stringify(e.readers), e.by, e.reason);
  }

  /** Whether a remote open of this reader is recorded between `from` and `to` (epoch ms). */
  openNear(readerId: string, from: number, to: number): boolean {
    return this.db.prepare('SELECT 1 FROM door_opens WHERE at BETWEEN ? AND ? AND instr(readers, ?) > 0').get(from, to, JSON.stringify(readerId)) !== undefined;
  }

  /** The controllers whose lockable doors the gateway left normally closed (lockdown.ts). */
  doorsClosed(): string[] {
    return (this.db.prepare('SELECT device_id AS id FROM controller_doors_closed').all() as { id: string }[]).map((r) => r.id);
  }

  setDoorsClosed(deviceId: string, closed: boolean, at: string): void {
    if (closed) this.db.prepare('INSERT OR REPLACE INTO controller_doors_closed (device_id, at) VALUES (?, ?)').run(deviceId, at);
    else this.db.prepare('DELETE FROM controller_doors_closed WHERE device_id = ?').run(deviceId);
  }

  counts(deviceId: string): { taps: number; backfilled: number } {
    const r = this.db
      .prepare('SELECT COUNT(*) AS taps, COALESCE(SUM(backfilled), 0) AS backfilled FROM controller_taps WHERE device_id = ?')
      .get(deviceId) as { taps: number; backfilled: number };
    return r;
  }
}

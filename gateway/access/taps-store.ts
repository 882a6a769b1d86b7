/**
 * Every tap with its decision (migration 11). Rows are written through the batch writer; the engine awaits
 * the write before it answers the reader. Ids are ULIDs, so "latest" is "highest id" on every index.
 */
import type { Database, Migration } from '../storage/db.js';
import type { DecisionReason } from './contract.js';
import { Where } from '../storage/where.js';

export const tapsMigrations: Migration[] = [
  {
    version: 11,
    name: 'taps',
    // WITHOUT ROWID: the ULID is the key, so no second b-tree for it. person_id has no foreign key on purpose:
    // a tap is history and stays when a person record is cleaned up; it also spares a lookup per insert.
    up: `
      CREATE TABLE taps (
        id TEXT PRIMARY KEY,
        at INTEGER NOT NULL,
        reader_id TEXT NOT NULL,
        uid TEXT NOT NULL,
        seq INTEGER,
        amount INTEGER,
        access_point TEXT,
        direction TEXT,
        gate_id TEXT,
        person_id INTEGER,
        granted INTEGER NOT NULL,
        reason TEXT NOT NULL,
        balance INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX taps_reader ON taps (reader_id, id);
      CREATE INDEX taps_access_point ON taps (access_point, id);
      CREATE INDEX taps_person ON taps (person_id, id);`,
  },
  {
    version: 14,
    name: 'taps by time',
    // The timeline (gateway/timeline) pages taps by their time, not their id: the reader's clock, not the gateway's,
    // stamps `at`. Without these it sorts every tap of a gate for each page.
    up: `
      CREATE INDEX taps_at ON taps (at, id);
      CREATE INDEX taps_access_point_at ON taps (access_point, at, id);`,
  },
];

export interface TapRecord {
  id: string;
  at: number;
  readerId: string;
  uid: string;
  seq: number | null;
  amount: number | null;
  accessPoint: string | null;
  direction: 'in' | 'out' | null;
  gateId: string | null;
  personId: number | null;
  granted: boolean;
  reason: DecisionReason;
  balance: number | null;
}

export interface TapView extends TapRecord {
  person: { externalId: string; name: string; class: string | null } | null;
}

/** A taps row joined with its person (`p_*`), as the list query and the timeline read it. */
export interface TapRow {
  id: string;
  at: number;
  reader_id: string;
  uid: string;
  seq: number | null;
  amount: number | null;
  access_point: string | null;
  direction: 'in' | 'out' | null;
  gate_id: string | null;
  person_id: number | null;
  granted: number;
  reason: DecisionReason;
  balance: number | null;
  p_external_id: string | null;
  p_name: string | null;
  p_class: string | null;
}

export const tapViewFromRow = (r: TapRow): TapView => ({
  id: r.id,
  at: r.at,
  readerId: r.reader_id,
  uid: r.uid,
  seq: r.seq,
  amount: r.amount,
  accessPoint: r.access_point,
  direction: r.direction,
  gateId: r.gate_id,
  personId: r.person_id,
  granted: r.granted === 1,
  reason: r.reason,
  balance: r.balance,
  person: r.p_name === null ? null : { externalId: r.p_external_id ?? '', name: r.p_name, class: r.p_class },
});

/** Taps with their person (`TapRow`); add a WHERE on `t.`. */
export const TAPS_WITH_PERSON = `SELECT t.*, p.external_id AS p_external_id, p.name AS p_name, p.class AS p_class
  FROM taps t LEFT JOIN persons p ON p.id = t.person_id`;

export class TapsStore {
  private readonly insert;
  private readonly lastGranted;

  constructor(private readonly db: Database) {
    this.insert = db.prepare(
      `INSERT INTO taps (id, at, reader_id, uid, seq, amount, access_point, direction, gate_id, person_id, granted, reason, balance)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.lastGranted = db.prepare<[number, string], { direction: 'in' | 'out' | null; at: number }>(
      `SELECT direction, at FROM taps WHERE person_id = ? AND gate_id = ? AND granted = 1 ORDER BY id DESC LIMIT 1`,
    );
  }

  /** For the batch writer: runs inside its transaction. */
  insertOp(t: TapRecord): (db: Database) => void {
    return () => {
      this.insert.run(t.id, t.at, t.readerId, t.uid, t.seq, t.amount, t.accessPoint, t.direction, t.gateId, t.personId,
        t.granted ? 1 : 0, t.reason, t.balance);
    };
  }

  /** The person's last granted pass at a gate (for anti-passback state after a restart). */
  lastGrantedAtGate(personId: number, gateId: string): { direction: 'in' | 'out' | null; at: number } | undefined {
    return this.lastGranted.get(personId, gateId);
  }

  latest(q: { readerId?: string | undefined; accessPoint?: string | undefined; personId?: number | undefined; limit: number;
    before?: string | undefined }): TapView[] {
    const where = new Where()
      .eq('t.reader_id', q.readerId)
      .eq('t.access_point', q.accessPoint)
      .eq('t.person_id', q.personId)
      .compare('t.id', '<', q.before);
    const sql = `${TAPS_WITH_PERSON} ${where.sql} ORDER BY t.id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...where.args, q.limit) as TapRow[]).map(tapViewFromRow);
  }
}

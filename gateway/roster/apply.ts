/**
 * Writes checked roster rows (check.ts) in transactions of APPLY_CHUNK rows, one per event-loop turn: better-sqlite3
 * is synchronous and 20,000 rows in one transaction hold the event loop ~360 ms on a PC (far longer on a Pi), so
 * a tap arriving meanwhile would wait that long for its answer; 500 rows take ~7 ms.
 *
 * Every row was checked before the first is written, so a file with a rejected row writes nothing. Each chunk
 * verifies, inside its transaction, that what its rows were checked against still holds (nobody edited those
 * people or issued those cards in between); if not, that chunk rolls back and the import stops, with the rows
 * before it written. Importing the file again then finishes it (an import is idempotent).
 */
import type { EventBus } from '../core/bus.js';
import type { RosterGuardianColumns } from '../guardians/roster-columns.js';
import type { Database } from '../storage/db.js';
import { CardKeyIndex, type CardChangedEvent } from '../people/store.js';
import { nextTurn, type PlannedRow } from './check.js';

export const APPLY_CHUNK = 500;

export interface ApplyOptions {
  db: Database;
  nowIso: string;
  now: () => number;
  by: string;
  /** Where `card.changed` goes for each card issued, once its chunk has committed. */
  bus?: EventBus;
  /** Writes a row's guardians (sealed numbers) in the row's transaction. */
  guardianColumns?: RosterGuardianColumns;
}

export interface ApplyResult {
  written: number;
  /** Set when the import stopped because the database changed under it. */
  stopped?: { line: number; reason: string };
}

/** The row's basis no longer holds. */
class Changed extends Error {
  constructor(readonly line: number, reason: string) {
    super(reason);
  }
}

export async function applyPlan(planned: readonly PlannedRow[], opts: ApplyOptions): Promise<ApplyResult> {
  const { db, nowIso } = opts;
  const insertPerson = db.prepare(
    `INSERT INTO persons (external_id, name, role, grade, class, schedule_group, security, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (external_id) DO NOTHING`,
  );
  const updatePerson = db.prepare(
    `UPDATE persons SET name = ?, role = ?, grade = ?, class = ?, schedule_group = ?, security = ?, updated_at = ?
     WHERE id = ? AND updated_at = ?`,
  );
  const personAsChecked = db.prepare<[number, string], { id: number }>('SELECT id FROM persons WHERE id = ? AND updated_at = ?');
  const insertCard = db.prepare(
    `INSERT INTO cards (uid, person_id, status, valid_from, valid_to, issued_at, updated_at, match) VALUES (?, ?, 'active', NULL, NULL, ?, ?, ?)`,
  );
  const completeCard = db.prepare(`UPDATE cards SET uid = ?, match = 'exact', updated_at = ? WHERE uid = ? AND match = 'suffix' AND person_id = ?`);
  const keys = new CardKeyIndex(db);

  const applyRow = (p: PlannedRow, issued: CardChangedEvent[]): void => {
    const v = p.values;
    let personId: number;
    if (p.person.kind === 'create') {
      const r = insertPerson.run(v.externalId, v.name, v.role, v.grade, v.class, v.scheduleGroup, v.security ? 1 : 0, nowIso, nowIso);
      if (r.changes !== 1) throw new Changed(p.line, `${v.externalId} was added by someone else during the import`);
      personId = Number(r.lastInsertRowid);
    } else {
      personId = p.person.id;
      const ok = p.person.kind === 'update'
        ? updatePerson.run(v.name, v.role, v.grade, v.class, v.scheduleGroup, v.security ? 1 : 0, nowIso, personId, p.person.updatedAt).changes === 1
        : personAsChecked.get(personId, p.person.updatedAt) !== undefined;
      if (!ok) throw new Changed(p.line, `${v.externalId} was changed by someone else during the import`);
    }
    opts.guardianColumns?.write(db, personId, p.guardians, opts.by, nowIso);
    const card = p.card;
    if (card?.kind === 'issue') {
      if (keys.candidates(card).length > 0) throw new Changed(p.line, `card ${card.uid} was issued by someone else during the import`);
      insertCard.run(card.uid, personId, nowIso, nowIso, card.match);
      issued.push({ uid: card.uid, personId, externalId: v.externalId, status: 'active', previous: null, by: opts.by, at: opts.now() });
    } else if (card?.kind === 'complete') {
      if (completeCard.run(card.uid, nowIso, card.from, personId).changes !== 1) {
        throw new Changed(p.line, `partial card ${card.from} was changed by someone else during the import`);
      }
    }
  };
  const applyChunk = db.transaction((rows: readonly PlannedRow[], issued: CardChangedEvent[]) => {
    for (const p of rows) applyRow(p, issued);
  });

  let written = 0;
  for (let i = 0; i < planned.length; i += APPLY_CHUNK) {
    if (i > 0) await nextTurn();
    const rows = planned.slice(i, i + APPLY_CHUNK);
    const issued: CardChangedEvent[] = [];
    try {
      applyChunk(rows, issued);
    } catch (err) {
      if (err instanceof Changed) return { written, stopped: { line: err.line, reason: err.message } };
      throw err;
    }
    written += rows.length;
    for (const e of issued) opts.bus?.emit('card.changed', e);
  }
  return { written };
}

/**
 * Erasing a person who left (docs/privacy.md): their card and identity go, their taps, attendance, excuses and PIN are
 * deleted, and the wallet ledger (a financial record that must add up) keeps its entries under a pseudonym. Free text
 * anywhere else (alert messages and data, the city outbox, ledger reasons) has the name, external id and card numbers
 * replaced by the same pseudonym. The erasure is logged with the pseudonym, who did it, why and the counts: never the
 * personal data.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { GatewayError, notFound } from '../core/errors.js';
import type { Database, Migration } from '../storage/db.js';
import type { CardStatus } from '../people/types.js';

export const privacyMigrations: Migration[] = [
  {
    version: 90,
    name: 'privacy_erasures',
    up: `CREATE TABLE privacy_erasures (
      id INTEGER PRIMARY KEY,
      pseudonym TEXT NOT NULL UNIQUE,
      erased_by TEXT NOT NULL,
      reason TEXT NOT NULL,
      counts TEXT NOT NULL,
      erased_at TEXT NOT NULL
    )`,
  },
];

export const erasureRequestSchema = z.strictObject({
  /** Why (e.g. "left the school, guardian's request of 2026-09-01"). Logged: write no names here. */
  reason: z.string().trim().min(3).max(500),
});

export interface ErasureResult {
  pseudonym: string;
  counts: Record<string, number>;
  /** What the school should do now, for people: a card to reissue (below). */
  warnings: string[];
}

/** The cards an erasure deleted, with the status each had: what holds copies of them (door controllers) must hear. */
export interface ErasedCard {
  uid: string;
  status: CardStatus;
}

const PSEUDONYM_PREFIX = 'erased-';
/** Tables whose rows are erased or rewritten by name above, and the log itself: not scrubbed as free text. */
const NOT_FREE_TEXT = new Set(['persons', 'cards', 'privacy_erasures', 'schema_migrations', 'sqlite_sequence']);
/**
 * Tables with no free text about people (their person columns are handled exactly above). The large ones: scanning
 * millions of readings or taps inside the erasure's transaction would hold the write lock for seconds. sensor_series:
 * its metric names are keys, and an external id such as `25` inside `pm25` must not rename a sensor's metric.
 */
const NO_PERSONAL_TEXT = new Set(['taps', 'attendance_days', 'sensor_series', 'sensor_readings', 'sensor_agg_1m', 'sensor_agg_1h']);

/** Text columns that may hold a person's name, id or card in free text: not key columns, which are replaced exactly. */
function freeTextColumns(db: Database): { table: string; column: string }[] {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[];
  const out: { table: string; column: string }[] = [];
  for (const { name } of tables) {
    if (NOT_FREE_TEXT.has(name) || NO_PERSONAL_TEXT.has(name)) continue;
    const cols = db.prepare(`SELECT name, type, pk FROM pragma_table_info(?)`).all(name) as { name: string; type: string; pk: number }[];
    for (const c of cols) {
      // A key is never rewritten by substring: a card number could sit inside another row's id by chance.
      if (c.pk > 0 || c.name === 'id' || c.name.endsWith('_id') || c.name === 'uid') continue;
      if (c.type.toUpperCase().includes('TEXT') || c.type === '') out.push({ table: name, column: c.name });
    }
  }
  return out;
}

const hasTable = (db: Database, name: string): boolean =>
  db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;

export function erasePerson(db: Database, clock: Clock, personId: number, by: string, reason: string): ErasureResult & { cards: ErasedCard[] } {
  return db.transaction((): ErasureResult & { cards: ErasedCard[] } => {
    const person = db.prepare('SELECT id, external_id, name FROM persons WHERE id = ?').get(personId) as
      | { id: number; external_id: string; name: string }
      | undefined;
    if (!person) throw notFound(`person ${personId}`);
    if (person.external_id.startsWith(PSEUDONYM_PREFIX)) throw new GatewayError('conflict', `person ${personId} was erased already`);
    const cards = db.prepare('SELECT uid, status FROM cards WHERE person_id = ?').all(personId) as ErasedCard[];
    const uids = cards.map((r) => r.uid);
    const pseudonym = `${PSEUDONYM_PREFIX}${randomBytes(8).toString('hex')}`;
    const counts: Record<string, number> = {};
    const run = (label: string, table: string, sql: string, ...params: unknown[]): void => {
      if (!hasTable(db, table)) return;
      counts[label] = (counts[label] ?? 0) + db.prepare(sql).run(...params).changes;
    };
    const uidList = JSON.stringify(uids);
    // Door controllers know a card by its low bytes (3 under wg26). Deleted, an erased card no longer keeps another card
    // with the same low bytes off them (drivers/controllers/uhppote/plan.ts), and a found card of the leaver would open
    // that child's doors. Its number is not kept (nothing of the person stays): the other card is held off the
    // controllers until it is reissued, and the admin is told to reissue it.
    db.prepare(
      `UPDATE cards SET controllers_held = 'erased_card'
       WHERE person_id != ? AND substr(uid, -6) IN (SELECT substr(value, -6) FROM json_each(?))`,
    ).run(personId, uidList);
    const twins = db
      .prepare(
        `SELECT c.uid, p.external_id AS externalId FROM cards c JOIN persons p ON p.id = c.person_id
         WHERE c.status = 'active' AND c.person_id != ? AND substr(c.uid, -6) IN (SELECT substr(value, -6) FROM json_each(?))`,
      )
      .all(personId, uidList) as { uid: string; externalId: string }[];
    const warnings = twins.map(
      (t) => `card ${t.uid} of ${t.externalId} ends with the same bytes as an erased card: door controllers that read only those bytes would let that card in as theirs, so they refuse it until ${t.externalId}'s card is reissued`,
    );

    run('taps', 'taps', 'DELETE FROM taps WHERE person_id = ? OR uid IN (SELECT value FROM json_each(?))', personId, uidList);
    run('attendanceDays', 'attendance_days', 'DELETE FROM attendance_days WHERE person_id = ?', personId);
    run('attendanceExcuses', 'attendance_excuses', 'DELETE FROM attendance_excuses WHERE person_id = ?', personId);
    run('walletPin', 'wallet_pins', 'DELETE FROM wallet_pins WHERE person_id = ?', personId);
    // Terminal transactions stay beside the ledger they explain; only the card number goes.
    if (hasTable(db, 'wallet_terminal_txns') && db.prepare("SELECT 1 FROM pragma_table_info('wallet_terminal_txns') WHERE name = 'uid'").get()) {
      run('walletTerminalTxns', 'wallet_terminal_txns', 'UPDATE wallet_terminal_txns SET uid = NULL WHERE person_id = ? OR uid IN (SELECT value FROM json_each(?))', personId, uidList);
    }
    run('blocklistChanges', 'card_blocklist_changes', 'DELETE FROM card_blocklist_changes WHERE uid IN (SELECT value FROM json_each(?))', uidList);
    run('cards', 'cards', 'DELETE FROM cards WHERE person_id = ?', personId);
    // Their guardians are theirs too (docs/guardians.md): the people, the sealed numbers, the consent history and every
    // message to or about them. The person row stays (the ledger points at it), so ON DELETE CASCADE never fires here.
    run('notifications', 'notify_outbox', 'DELETE FROM notify_outbox WHERE person_id = ? OR guardian_id IN (SELECT id FROM guardians WHERE person_id = ?)', personId, personId);
    run('guardianConsentLog', 'guardian_consent_log', 'DELETE FROM guardian_consent_log WHERE guardian_id IN (SELECT id FROM guardians WHERE person_id = ?)', personId);
    run('guardians', 'guardians', 'DELETE FROM guardians WHERE person_id = ?', personId);
    const now = new Date(clock.now()).toISOString();
    db.prepare('UPDATE persons SET external_id = ?, name = ?, grade = NULL, class = NULL, updated_at = ? WHERE id = ?').run(pseudonym, pseudonym, now, personId);

    // Everything else that could name them in passing. Longest first, so a name containing the id is replaced whole.
    const values = [person.name, person.external_id, ...uids].filter((v) => v.length >= 2).sort((a, b) => b.length - a.length);
    let scrubbed = 0;
    for (const { table, column } of freeTextColumns(db)) {
      for (const v of values) {
        scrubbed += db.prepare(`UPDATE "${table}" SET "${column}" = replace("${column}", ?, ?) WHERE instr("${column}", ?) > 0`).run(v, pseudonym, v).changes;
      }
    }
    counts.textFields = scrubbed;
    db.prepare('INSERT INTO privacy_erasures (pseudonym, erased_by, reason, counts, erased_at) VALUES (?, ?, ?, ?, ?)').run(
      pseudonym,
      by,
      reason,
      JSON.stringify(counts),
      now,
    );
    return { pseudonym, counts, warnings, cards };
  })();
}

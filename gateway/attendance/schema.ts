import type { Migration } from '../storage/db.js';

/**
 * Attendance (migrations 25–29). One row per person and school-local date with the first gate entry and
 * the last gate exit; status is derived when read, from the cut-off and calendar in force, so changing the
 * config or excusing someone later needs no rewrite.
 */
export const attendanceMigrations: Migration[] = [
  {
    version: 25,
    name: 'attendance days and excuses',
    up: `
      CREATE TABLE attendance_days (
        person_id INTEGER NOT NULL REFERENCES persons(id),
        date TEXT NOT NULL,
        first_in_at INTEGER,
        first_in_reader TEXT,
        last_out_at INTEGER,
        last_out_reader TEXT,
        taps_in INTEGER NOT NULL DEFAULT 0,
        taps_out INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (person_id, date)
      ) WITHOUT ROWID;
      CREATE INDEX attendance_days_date ON attendance_days (date);
      CREATE TABLE attendance_excuses (
        person_id INTEGER NOT NULL REFERENCES persons(id),
        date TEXT NOT NULL,
        reason TEXT NOT NULL,
        excused_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (person_id, date)
      ) WITHOUT ROWID;
      CREATE INDEX attendance_excuses_date ON attendance_excuses (date);`,
  },
  {
    version: 26,
    name: 'drop the unread attendance date index',
    // Every register query goes by (person_id, date), the primary key; the date index was one more page written
    // by every gate tap and read by nothing.
    up: 'DROP INDEX attendance_days_date;',
  },
  {
    version: 27,
    name: 'no reader for a side not passed',
    // A day's first row once named its tap's reader on both sides: someone who had only come in showed the
    // entry reader as their exit reader.
    up: `
      UPDATE attendance_days SET last_out_reader = NULL WHERE last_out_at IS NULL;
      UPDATE attendance_days SET first_in_reader = NULL WHERE first_in_at IS NULL;`,
  },
];

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { attendanceMigrations } from '../../gateway/attendance/schema.js';
import { peopleMigrations } from '../../gateway/people/store.js';
import { openDatabase, type Database } from '../../gateway/storage/db.js';
import { tempDir } from '../helpers/gateway.js';

let db: Database | undefined;
let dir: string | undefined;
afterEach(() => {
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('attendance schema', () => {
  it('clears the reader of a side not passed in rows written before migration 27', () => {
    dir = tempDir('campus-att-schema-');
    const file = join(dir, 'gateway.db');
    const before = attendanceMigrations.filter((m) => m.version < 27);
    db = openDatabase(file, [...peopleMigrations, ...before]);
    db.exec(`INSERT INTO persons (id, external_id, name, role, schedule_group, created_at, updated_at)
             VALUES (1, 'S1', '李明', 'student', 'day', '', ''), (2, 'S2', '王芳', 'student', 'day', '', '')`);
    // What the old upsert wrote for a first tap: its reader on both sides.
    db.exec(`INSERT INTO attendance_days (person_id, date, first_in_at, first_in_reader, last_out_at, last_out_reader, taps_in, taps_out)
             VALUES (1, '2026-11-24', 1000, 'gate-in', NULL, 'gate-in', 1, 0),
                    (2, '2026-11-24', NULL, 'gate-out', 2000, 'gate-out', 0, 1)`);
    db.close();

    db = openDatabase(file, [...peopleMigrations, ...attendanceMigrations]);
    expect(db.prepare('SELECT person_id, first_in_reader, last_out_reader FROM attendance_days ORDER BY person_id').all()).toEqual([
      { person_id: 1, first_in_reader: 'gate-in', last_out_reader: null },
      { person_id: 2, first_in_reader: null, last_out_reader: 'gate-out' },
    ]);
  });
});

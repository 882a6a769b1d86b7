/**
 * People and cards as every domain refers to them (access decides on them, attendance and the roster import count them).
 * Tables (migration 10, owned by the people/cards module):
 *   persons(id INTEGER PRIMARY KEY, external_id TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
 *           role TEXT NOT NULL CHECK (role IN ('student','staff','visitor')), grade TEXT, class TEXT,
 *           schedule_group TEXT NOT NULL DEFAULT 'default', created_at TEXT NOT NULL, updated_at TEXT NOT NULL)
 *   cards(uid TEXT PRIMARY KEY, person_id INTEGER NOT NULL REFERENCES persons(id),
 *         status TEXT NOT NULL CHECK (status IN ('active','lost','blocked','expired')),
 *         valid_from TEXT, valid_to TEXT, issued_at TEXT NOT NULL, updated_at TEXT NOT NULL)
 */
export type PersonRole = 'student' | 'staff' | 'visitor';
export type CardStatus = 'active' | 'lost' | 'blocked' | 'expired';
export interface PersonRef {
  id: number;
  externalId: string;
  name: string;
  role: PersonRole;
  grade: string | null;
  class: string | null;
  scheduleGroup: string;
}

/** The columns of `persons` that say who a person is, as each query that joins them returns them. */
export interface PersonColumns {
  external_id: string;
  name: string;
  role: PersonRole;
  grade: string | null;
  class: string | null;
  schedule_group: string;
}

/** Who a person is (PersonRef but the row id), from whichever database row carries the person's columns. */
export const personFieldsOf = (r: PersonColumns): Omit<PersonRef, 'id'> => ({
  externalId: r.external_id,
  name: r.name,
  role: r.role,
  grade: r.grade,
  class: r.class,
  scheduleGroup: r.schedule_group,
});

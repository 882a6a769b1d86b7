/**
 * Persons and their cards in SQLite (migration 10, shapes fixed by gateway/access/contract.ts).
 * The decision path reads a card's status straight from SQLite through a prepared statement on every tap,
 * so a card reported lost is refused at the very next tap without any cache to invalidate.
 */
import { personFieldsOf, type CardStatus, type PersonColumns, type PersonRole } from './types.js';
import type { EventBus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import { GatewayError, notFound } from '../core/errors.js';
import type { Database, Migration, } from '../storage/db.js';
import type { Card, PersonCreate, PersonUpdate, Person, PersonWithCards, PeopleQuery } from './schema.js';
import { Where } from '../storage/where.js';

export interface CardChangedEvent {
  uid: string;
  personId: number;
  externalId: string;
  /** `erased`: the card was deleted with its holder's personal data (gateway/privacy); externalId is the pseudonym. */
  status: CardStatus | 'erased';
  previous: CardStatus | null;
  by: string;
  at: number;
}

declare module '../core/bus.js' {
  interface CampusEventMap {
    /** A card was issued or its status changed (lost, blocked, unblocked): terminals' blacklists, the city. */
    'card.changed': CardChangedEvent;
  }
}

export const peopleMigrations: Migration[] = [
  {
    version: 10,
    name: 'persons and cards',
    up: `
      CREATE TABLE persons (
        id INTEGER PRIMARY KEY,
        external_id TEXT UNIQUE NOT NULL,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('student','staff','visitor')),
        grade TEXT,
        class TEXT,
        schedule_group TEXT NOT NULL DEFAULT 'default',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        security INTEGER NOT NULL DEFAULT 0 CHECK (security IN (0, 1))
      );
      CREATE INDEX persons_class ON persons (grade, class, name);
      CREATE INDEX persons_name ON persons (name);
      CREATE TABLE cards (
        uid TEXT PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES persons(id),
        status TEXT NOT NULL CHECK (status IN ('active','lost','blocked','expired')),
        valid_from TEXT,
        valid_to TEXT,
        issued_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        match TEXT NOT NULL DEFAULT 'exact' CHECK (match IN ('exact','suffix'))
      );
      CREATE INDEX cards_person ON cards (person_id);
      -- Printed decimal forms carry only the low 4 or 3 bytes: these find the cards a printed number stands for.
      CREATE INDEX cards_low4 ON cards (substr(uid, -8));
      CREATE INDEX cards_low3 ON cards (substr(uid, -6));`,
  },
];

export interface PersonRow extends PersonColumns {
  id: number;
  created_at: string;
  updated_at: string;
  security: number;
}

export interface CardRow {
  uid: string;
  person_id: number;
  status: CardStatus;
  valid_from: string | null;
  valid_to: string | null;
  issued_at: string;
  updated_at: string;
  match: 'exact' | 'suffix';
}

export const personFromRow = (r: PersonRow): Person => ({
  id: r.id,
  ...personFieldsOf(r),
  security: r.security === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const cardFromRow = (r: CardRow): Card => ({
  uid: r.uid,
  personId: r.person_id,
  status: r.status,
  validFrom: r.valid_from,
  validTo: r.valid_to,
  match: r.match,
  issuedAt: r.issued_at,
  updatedAt: r.updated_at,
});

/** What the decision path needs about a card and its holder, from one indexed read. */
export interface CardHolder {
  card: Card;
  person: Person;
}

export interface CardHolderRow {
  uid: string;
  status: CardStatus;
  role: PersonRole;
  scheduleGroup: string;
  security: boolean;
  validFrom: string | null;
  validTo: string | null;
  /** Kept off the door controllers until reissued: an erased card shared its low bytes (migration 16). */
  held: boolean;
}

/** Byte lengths of the low-byte keys decimal forms give (8H10D/reversed: 4, 6H8D/Wiegand-26: 3). */
export const SUFFIX_HEX_LENGTHS = [8, 6] as const;

export class PeopleStore {
  private readonly bySuffix;
  private readonly personById;
  private readonly cardsOfPerson;
  private readonly cardByUid;
  private readonly bySuffix8;
  private readonly bySuffix6;
  private readonly keys: CardKeyIndex;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly bus?: EventBus,
  ) {
    this.bySuffix = db.prepare<[string, string], CardRow>(
      `SELECT * FROM cards WHERE uid IN (?, ?) AND match = 'suffix' ORDER BY length(uid) DESC LIMIT 1`,
    );
    this.personById = db.prepare<[number], PersonRow>('SELECT * FROM persons WHERE id = ?');
    this.cardsOfPerson = db.prepare<[number], CardRow>('SELECT * FROM cards WHERE person_id = ? ORDER BY issued_at, uid');
    this.cardByUid = db.prepare<[string], CardRow>('SELECT * FROM cards WHERE uid = ?');
    // LIMIT 2: enough to know a key is ambiguous. Both use the expression indexes of migration 10.
    this.bySuffix8 = db.prepare<[string], CardRow>('SELECT * FROM cards WHERE substr(uid, -8) = ? LIMIT 2');
    this.bySuffix6 = db.prepare<[string], CardRow>('SELECT * FROM cards WHERE substr(uid, -6) = ? LIMIT 2');
    this.keys = new CardKeyIndex(db);
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /**
   * The card a reader saw and its holder: the exact UID first, then a card known only by its low bytes
   * (the longest such key wins). `partial`: the reader itself gave only low bytes (a decimal-printing reader),
   * so any card whose UID ends with them matches (the card with exactly that UID too), if it is the only one. Null
   * for a card nobody holds.
   */
  holderOf(uid: string, partial = false): CardHolder | null {
    const card = this.cardRowFor(uid, partial);
    if (!card) return null;
    // Two primary-key reads, not a join: on a 100,000-card school the join costs two to three times as much
    // (`npm run bench -- taps`), and this runs for every tap.
    const person = this.personById.get(card.person_id);
    return person ? { card: cardFromRow(card), person: personFromRow(person) } : null;
  }

  private cardRowFor(uid: string, partial: boolean): CardRow | undefined {
    if (partial) {
      // A reader that prints decimal numbers gives only low bytes: one card ending with them, or nobody. Not the
      // exact match first: a 4-byte card equal to a 7-byte card's low bytes would answer for the 7-byte card's tap.
      const rows = (uid.length === 8 ? this.bySuffix8 : this.bySuffix6).all(uid);
      return rows.length === 1 ? rows[0] : undefined;
    }
    const exact = this.cardByUid.get(uid);
    if (exact) return exact;
    return uid.length > 6 ? this.bySuffix.get(uid.slice(-8), uid.slice(-6)) : undefined;
  }

  createPerson(input: PersonCreate): Person {
    const now = this.nowIso();
    if (input.security && input.role !== 'staff') throw new GatewayError('bad_request', 'body.security: only staff can be security');
    try {
      const r = this.db
        .prepare(
          `INSERT INTO persons (external_id, name, role, grade, class, schedule_group, security, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(input.externalId, input.name, input.role, input.grade ?? null, input.class ?? null, input.scheduleGroup,
          input.security ? 1 : 0, now, now);
      return this.person(Number(r.lastInsertRowid));
    } catch (err) {
      if (isUniqueViolation(err)) throw new GatewayError('conflict', `a person with external id ${input.externalId} exists`);
      throw err;
    }
  }

  updatePerson(id: number, patch: PersonUpdate): Person {
    const current = this.person(id);
    const next = {
      externalId: patch.externalId ?? current.externalId,
      name: patch.name ?? current.name,
      role: patch.role ?? current.role,
      grade: patch.grade === undefined ? current.grade : patch.grade,
      class: patch.class === undefined ? current.class : patch.class,
      scheduleGroup: patch.scheduleGroup ?? current.scheduleGroup,
      security: patch.security ?? current.security,
    };
    if (next.security && next.role !== 'staff') throw new GatewayError('bad_request', 'body.security: only staff can be security');
    try {
      this.db
        .prepare(
          `UPDATE persons SET external_id = ?, name = ?, role = ?, grade = ?, class = ?, schedule_group = ?, security = ?,
           updated_at = ? WHERE id = ?`,
        )
        .run(next.externalId, next.name, next.role, next.grade ?? null, next.class ?? null, next.scheduleGroup,
          next.security ? 1 : 0, this.nowIso(), id);
    } catch (err) {
      if (isUniqueViolation(err)) throw new GatewayError('conflict', `a person with external id ${next.externalId} exists`);
      throw err;
    }
    return this.person(id);
  }

  person(id: number): Person {
    const row = this.personById.get(id);
    if (!row) throw notFound(`person ${id}`);
    return personFromRow(row);
  }

  personByExternalId(externalId: string): Person | null {
    const row = this.db.prepare<[string], PersonRow>('SELECT * FROM persons WHERE external_id = ?').get(externalId);
    return row ? personFromRow(row) : null;
  }

  withCards(person: Person): PersonWithCards {
    return { ...person, cards: this.cardsOfPerson.all(person.id).map(cardFromRow) };
  }

  /**
   * Filters combine with AND. `q` matches a part of the name or the external id; `cardKeys` are what a
   * printed card number may stand for (see card-keys.ts), resolved by the caller.
   */
  search(q: Omit<PeopleQuery, 'card'>, cardKeys?: { uid: string; match: 'exact' | 'suffix' }[]): { items: PersonWithCards[]; total: number } {
    const where = new Where();
    if (q.q) {
      const like = `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.add(`(p.name LIKE ? ESCAPE '\\' OR p.external_id LIKE ? ESCAPE '\\')`, like, like);
    }
    where.eq('p.external_id', q.externalId).eq('p.grade', q.grade).eq('p.class', q.class).eq('p.role', q.role);
    if (cardKeys) {
      if (cardKeys.length === 0) return { items: [], total: 0 };
      // A whole UID matches its card and a partial card it ends with; a low-bytes key matches every UID ending with it.
      const ors: string[] = [];
      const orArgs: string[] = [];
      for (const k of cardKeys) {
        if (k.match === 'exact') {
          ors.push('c.uid = ?', `(c.match = 'suffix' AND c.uid IN (?, ?))`);
          orArgs.push(k.uid, k.uid.slice(-8), k.uid.slice(-6));
        } else {
          ors.push(k.uid.length === 8 ? 'substr(c.uid, -8) = ?' : 'substr(c.uid, -6) = ?');
          orArgs.push(k.uid);
        }
      }
      where.add(`p.id IN (SELECT c.person_id FROM cards c WHERE ${ors.join(' OR ')})`, ...orArgs);
    }
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM persons p ${where.sql}`).get(...where.args) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT p.* FROM persons p ${where.sql} ORDER BY p.grade, p.class, p.name, p.id LIMIT ? OFFSET ?`)
      .all(...where.args, q.limit, q.offset) as PersonRow[];
    return { items: rows.map((r) => this.withCards(personFromRow(r))), total };
  }

  card(uid: string): Card {
    const row = this.cardByUid.get(uid);
    if (!row) throw notFound(`card ${uid}`);
    return cardFromRow(row);
  }

  issueCard(
    personId: number,
    input: { uid: string; match?: 'exact' | 'suffix'; validFrom?: string | null; validTo?: string | null; status?: CardStatus },
    by = 'gateway',
  ): Card {
    const person = this.person(personId);
    const now = this.nowIso();
    // The roster import's rule (docs/access.md): no card another card may stand for, or one tap would have two holders.
    const clash = this.keys.candidates({ uid: input.uid, match: input.match ?? 'exact' });
    if (clash.length > 0) {
      const owners = [...new Set(clash.map((c) => (c.personId === personId ? 'this person' : this.person(c.personId).externalId)))];
      throw new GatewayError(
        'conflict',
        clash.length === 1 && clash[0]!.uid === input.uid
          ? `card ${input.uid} is already issued to ${owners[0]}`
          : `card ${input.uid} matches card(s) ${clash.map((c) => c.uid).join(', ')} held by ${owners.join(', ')}; give the whole hex UID of a card nobody holds`,
      );
    }
    const status = input.status ?? 'active';
    this.db
      .prepare(
        `INSERT INTO cards (uid, person_id, status, valid_from, valid_to, issued_at, updated_at, match)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(input.uid, personId, status, input.validFrom ?? null, input.validTo ?? null, now, now, input.match ?? 'exact');
    this.bus?.emit('card.changed', {
      uid: input.uid, personId, externalId: person.externalId, status, previous: null, by, at: this.clock.now(),
    });
    return this.card(input.uid);
  }

  /** Changes a card's status; committed before it returns, so the next tap sees it. */
  setCardStatus(uid: string, status: CardStatus, by: string): Card {
    const current = this.card(uid);
    if (current.status === status) return current;
    this.db.prepare('UPDATE cards SET status = ?, updated_at = ? WHERE uid = ?').run(status, this.nowIso(), uid);
    const person = this.person(current.personId);
    this.bus?.emit('card.changed', {
      uid, personId: current.personId, externalId: person.externalId, status, previous: current.status, by, at: this.clock.now(),
    });
    return this.card(uid);
  }

  cardsOf(personId: number): Card[] {
    return this.cardsOfPerson.all(personId).map(cardFromRow);
  }

  /** Full UIDs of active cards (the simulated readers tap with these). */
  activeCardUids(limit: number): string[] {
    return (
      this.db.prepare(`SELECT uid FROM cards WHERE status = 'active' AND match = 'exact' LIMIT ?`).all(limit) as { uid: string }[]
    ).map((r) => r.uid);
  }

  /** Every card with its status and holder: door controllers plan from these (a refused card's number too). */
  cardHolders(): CardHolderRow[] {
    return (
      this.db
        .prepare(
          `SELECT c.uid, c.status, p.role, p.schedule_group AS scheduleGroup, p.security, c.valid_from AS validFrom, c.valid_to AS validTo,
             c.controllers_held IS NOT NULL AS held
           FROM cards c JOIN persons p ON p.id = c.person_id ORDER BY c.uid`,
        )
        .all() as (Omit<CardHolderRow, 'security' | 'held'> & { security: number; held: number })[]
    ).map((r) => ({ ...r, security: r.security === 1, held: r.held === 1 }));
  }

  count(): { persons: number; cards: number } {
    const persons = (this.db.prepare('SELECT COUNT(*) AS n FROM persons').get() as { n: number }).n;
    const cards = (this.db.prepare('SELECT COUNT(*) AS n FROM cards').get() as { n: number }).n;
    return { persons, cards };
  }
}

export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE'
    || (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Cards a key may stand for: the card itself, cards whose UID ends with a suffix key, partial cards a whole UID ends with. */
export class CardKeyIndex {
  private readonly exact;
  private readonly bySuffix8;
  private readonly bySuffix6;
  private readonly partialsOf;

  constructor(db: Database) {
    this.exact = db.prepare<[string], CardRow>('SELECT * FROM cards WHERE uid = ?');
    // Both use the expression indexes of migration 10.
    this.bySuffix8 = db.prepare<[string], CardRow>('SELECT * FROM cards WHERE substr(uid, -8) = ? ORDER BY uid');
    this.bySuffix6 = db.prepare<[string], CardRow>('SELECT * FROM cards WHERE substr(uid, -6) = ? ORDER BY uid');
    this.partialsOf = db.prepare<[string, string], CardRow>(
      `SELECT * FROM cards WHERE match = 'suffix' AND uid IN (?, ?) ORDER BY length(uid) DESC`,
    );
  }

  /** Every card the target may stand for. */
  candidates(target: { uid: string; match: 'exact' | 'suffix' }): Card[] {
    if (target.match === 'exact') {
      const row = this.exact.get(target.uid);
      const partials = this.partialsOf.all(target.uid.slice(-8), target.uid.slice(-6)).filter((r) => r.uid !== target.uid);
      return [...(row ? [row] : []), ...partials].map(cardFromRow);
    }
    const rows = target.uid.length === 8 ? this.bySuffix8.all(target.uid) : this.bySuffix6.all(target.uid);
    return rows.map(cardFromRow);
  }
}

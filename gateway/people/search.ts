/**
 * "Find anyone fast" (the console's one search box): a name, pinyin initials, a student or staff number, a class or
 * a card number in any printed form finds the person. Answers carry no card UIDs, so viewers may use it too; only
 * the card reading is kept to the roles that see card numbers (a viewer's typed number is not looked up as a card,
 * or the box would tell a hall display whose card a number is).
 *
 * Pinyin initials come from `pinyin-pro` (MIT, no dependencies, ~1 MB with its dictionary, which knows surnames'
 * readings such as 单 shàn) and are worked out when a name is first searched, then kept per name. No column and no
 * migration: a roster import, a rename and an erasure change nothing to keep in step, and a scan of every name
 * (a school has a few thousand) is one indexed read plus a map lookup each.
 */
import { pinyin } from 'pinyin-pro';
import { CARD_FORMATS } from '../core/card-number.js';
import type { Database } from '../storage/db.js';
import { cardTarget } from './card-keys.js';
import { personFromRow, type PeopleStore, type PersonRow } from './store.js';
import type { Person } from './schema.js';

/** How a hit was found, best first; the console says it ("by card", "by initials"). */
export type MatchedBy = 'externalId' | 'card' | 'name' | 'initials' | 'class';

export interface SearchHit {
  id: number;
  externalId: string;
  name: string;
  role: Person['role'];
  grade: string | null;
  class: string | null;
  matchedBy: MatchedBy;
}

/** Names whose initials are kept; past this the cache starts again (a school has far fewer). */
const MAX_CACHED_NAMES = 50_000;
const INITIALS = /^[a-z]{1,12}$/i;

export class PeopleFinder {
  private readonly initials = new Map<string, string>();

  constructor(
    private readonly db: Database,
    private readonly people: PeopleStore,
  ) {}

  /** `wf` for 王芳; characters without a reading (letters, digits) are kept as they are, lower-cased. */
  initialsOf(name: string): string {
    let v = this.initials.get(name);
    if (v === undefined) {
      v = pinyin(name, { pattern: 'first', toneType: 'none', type: 'array', surname: 'head', nonZh: 'consecutive' })
        .join('')
        .replace(/[^a-z0-9]/gi, '')
        .toLowerCase();
      if (this.initials.size >= MAX_CACHED_NAMES) this.initials.clear();
      this.initials.set(name, v);
    }
    return v;
  }

  search(text: string, opts: { limit: number; cards: boolean }): SearchHit[] {
    const q = text.trim();
    if (!q) return [];
    const hits = new Map<number, SearchHit>();
    const add = (people: Person[], matchedBy: MatchedBy): void => {
      for (const p of people) {
        if (hits.size >= opts.limit) return;
        if (!hits.has(p.id)) hits.set(p.id, { id: p.id, externalId: p.externalId, name: p.name, role: p.role, grade: p.grade, class: p.class, matchedBy });
      }
    };
    const rows = (sql: string, ...args: (string | number)[]): Person[] => (this.db.prepare(sql).all(...args, opts.limit) as PersonRow[]).map(personFromRow);
    const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

    add(rows('SELECT * FROM persons WHERE external_id = ? COLLATE NOCASE ORDER BY id LIMIT ?', q), 'externalId');
    if (opts.cards) add(this.byCard(q, opts.limit), 'card');
    add(rows(`SELECT * FROM persons WHERE name LIKE ? ESCAPE '\\' ORDER BY length(name), name, id LIMIT ?`, like), 'name');
    if (INITIALS.test(q)) add(this.byInitials(q.toLowerCase(), opts.limit), 'initials');
    add(rows(`SELECT * FROM persons WHERE class = ? OR class LIKE ? ESCAPE '\\' ORDER BY class, name, id LIMIT ?`, q, like), 'class');
    add(rows(`SELECT * FROM persons WHERE external_id LIKE ? ESCAPE '\\' ORDER BY external_id LIMIT ?`, like), 'externalId');
    return [...hits.values()];
  }

  /** Every reading of the text as a printed card number (hex UID, 8H10D, 6H8D, Wiegand-26 …) that parses. */
  private byCard(q: string, limit: number): Person[] {
    const keys: { uid: string; match: 'exact' | 'suffix' }[] = [];
    for (const f of CARD_FORMATS) {
      const t = cardTarget(q, f);
      if (t.ok && !keys.some((k) => k.uid === t.uid && k.match === t.match)) keys.push({ uid: t.uid, match: t.match });
    }
    if (keys.length === 0) return [];
    return this.people.search({ limit, offset: 0 }, keys).items;
  }

  /** Initials that start with what was typed: `wf` finds 王芳 and 王飞燕, the shortest names first. */
  private byInitials(q: string, limit: number): Person[] {
    const found: PersonRow[] = [];
    for (const r of this.db.prepare('SELECT * FROM persons ORDER BY length(name), name, id').iterate() as IterableIterator<PersonRow>) {
      if (this.initialsOf(r.name).startsWith(q)) {
        found.push(r);
        if (found.length >= limit) break;
      }
    }
    return found.map(personFromRow);
  }
}

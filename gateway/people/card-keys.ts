/**
 * Printed card numbers → cards. A hex UID names one card. A decimal form (8H10D, reversed, 6H8D, Wiegand-26)
 * only carries the UID's low 4 or 3 bytes: it names every card whose UID ends with them, and when no card is
 * known yet it can only be stored as a partial card (`match = 'suffix'`) that the next tap completes in the
 * sense that any UID ending with those bytes matches it.
 */
import { parseCardNumber, type CardFormat } from '../core/card-number.js';
import type { Database } from '../storage/db.js';
import type { Card } from './schema.js';
import { cardFromRow, type CardRow } from './store.js';

export type CardTarget =
  | { ok: true; uid: string; match: 'exact' | 'suffix'; printed: string; repairs: string[] }
  | { ok: false; reason: string };

export function cardTarget(text: string, format: CardFormat): CardTarget {
  const p = parseCardNumber(text, format);
  if (!p.ok) return { ok: false, reason: p.error.message };
  return { ok: true, uid: p.value.key, match: p.value.exact ? 'exact' : 'suffix', printed: p.value.printed, repairs: p.value.repairs };
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

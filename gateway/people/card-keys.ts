/**
 * Printed card numbers → cards. A hex UID names one card. A decimal form (8H10D, reversed, 6H8D, Wiegand-26)
 * only carries the UID's low 4 or 3 bytes: it names every card whose UID ends with them, and when no card is
 * known yet it can only be stored as a partial card (`match = 'suffix'`) that the next tap completes in the
 * sense that any UID ending with those bytes matches it.
 */
import { parseCardNumber, type CardFormat } from '../core/card-number.js';

export type CardTarget =
  | { ok: true; uid: string; match: 'exact' | 'suffix'; printed: string; repairs: string[] }
  | { ok: false; reason: string };

export function cardTarget(text: string, format: CardFormat): CardTarget {
  const p = parseCardNumber(text, format);
  if (!p.ok) return { ok: false, reason: p.error.message };
  return { ok: true, uid: p.value.key, match: p.value.exact ? 'exact' : 'suffix', printed: p.value.printed, repairs: p.value.repairs };
}

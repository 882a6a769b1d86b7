/**
 * Least data for viewers. A viewer login sits on a class teacher's tablet or a hall display: it sees who tapped where
 * and what was decided, and the canteen's day totals, but never one person's money (a payment's amount, a balance)
 * nor a card UID, which is enough to clone a card. Admin and security at the desk see everything.
 *
 * The one place that says so: the wallet's per-person routes guard with `PERSONAL_DATA_ROLES`, and the taps list and
 * the event stream serialise with `jsonFor`.
 */
import type { Role } from '../auth/users.js';

/** Roles that see one person's amounts, balances and card UIDs. */
export const PERSONAL_DATA_ROLES = ['admin', 'security'] as const satisfies readonly Role[];

/** `full` for the desk; `limited` leaves out the personal fields. */
export type Visibility = 'full' | 'limited';

export function visibilityOf(role: Role): Visibility {
  return (PERSONAL_DATA_ROLES as readonly Role[]).includes(role) ? 'full' : 'limited';
}

/**
 * Field names that carry one person's money or card identity wherever they sit in a payload: taps (`uid`, `amount`,
 * `balance`), offline sales and wallet alerts (`amountFen`, `balanceFen`), card changes and card alerts (`uid`).
 * Aggregates (`grossFen`, `sumFen`, counts) are not personal and stay.
 */
const PERSONAL_FIELDS: ReadonlySet<string> = new Set(['uid', 'uids', 'amount', 'amountFen', 'balance', 'balanceFen']);

/**
 * The replacer: personal fields go, and an alert's texts (its `message`, written for people: "Lost card 0BADCAFE of
 * …", and its `dedupKey`) lose the card UID its own `data` names, so the text a viewer's console falls back to does
 * not give it away.
 */
function dropPersonal(this: unknown, key: string, value: unknown): unknown {
  if (PERSONAL_FIELDS.has(key)) return undefined;
  if ((key === 'message' || key === 'dedupKey') && typeof value === 'string') {
    const uid = (this as { data?: { uid?: unknown } } | null)?.data?.uid;
    if (typeof uid === 'string' && uid.length > 0) return value.split(uid).join('•••');
  }
  return value;
}

/** JSON text of `value` as `visibility` may see it. */
export function jsonFor(visibility: Visibility, value: unknown): string {
  return visibility === 'full' ? JSON.stringify(value) : JSON.stringify(value, dropPersonal);
}

/**
 * What the access domain shares with attendance, wallet, cloud sync, Node-RED and the console.
 * Tables (migration 10, owned by the people/cards module):
 *   persons(id INTEGER PRIMARY KEY, external_id TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
 *           role TEXT NOT NULL CHECK (role IN ('student','staff','visitor')), grade TEXT, class TEXT,
 *           schedule_group TEXT NOT NULL DEFAULT 'default', created_at TEXT NOT NULL, updated_at TEXT NOT NULL)
 *   cards(uid TEXT PRIMARY KEY, person_id INTEGER NOT NULL REFERENCES persons(id),
 *         status TEXT NOT NULL CHECK (status IN ('active','lost','blocked','expired')),
 *         valid_from TEXT, valid_to TEXT, issued_at TEXT NOT NULL, updated_at TEXT NOT NULL)
 */
import type { Tap, TypedPin } from '../core/taps.js';
import type { WriteOp } from '../storage/batch-writer.js';

export type PersonRole = 'student' | 'staff' | 'visitor';
export type CardStatus = 'active' | 'lost' | 'blocked' | 'expired';
export type AccessPointKind = 'gate' | 'door' | 'classroom' | 'canteen';

export interface PersonRef {
  id: number;
  externalId: string;
  name: string;
  role: PersonRole;
  grade: string | null;
  class: string | null;
  scheduleGroup: string;
}

/** Stable reason codes a reader shows and the city sees. */
export type DecisionReason =
  | 'ok'
  | 'duplicate'
  | 'unknown_card'
  | 'card_lost'
  | 'card_blocked'
  | 'card_expired'
  | 'card_not_yet_valid'
  | 'outside_schedule'
  | 'not_school_day'
  | 'anti_passback'
  | 'lockdown'
  | 'insufficient_funds'
  | 'over_limit'
  | 'over_daily_limit'
  | 'invalid_amount'
  | 'seq_conflict'
  | 'pin_required'
  | 'pin_wrong'
  | 'pin_locked'
  | 'unknown_reader'
  /** A canteen payment while the database cannot write: money needs a durable ledger. */
  | 'storage_unavailable';

export interface TapDecision extends Tap {
  tapId: string;
  accessPointId: string;
  accessPointKind: AccessPointKind;
  direction?: 'in' | 'out';
  gateId?: string;
  granted: boolean;
  reason: DecisionReason;
  person: PersonRef | null;
  /** Canteen taps: balance after the debit (or the unchanged balance when refused), integer fen. */
  balance?: number;
}

/**
 * A row another domain keeps for each decided tap (attendance's register), written in the tap's own
 * transaction so that a crash keeps both or neither. The op must not throw: a throw would lose the tap with it.
 */
export type TapWrite = (decided: TapDecision) => WriteOp | null;

/** The canteen wallet as the access domain calls it. A debit is idempotent on (readerId, seq). */
export type WalletRefusal = 'insufficient_funds' | 'over_limit' | 'over_daily_limit' | 'invalid_amount' | 'seq_conflict' | PinRefusal;
/** Above the PIN threshold: no PIN typed (or none set for the person), a wrong one, or too many wrong ones lately. */
export type PinRefusal = 'pin_required' | 'pin_wrong' | 'pin_locked';

/** Why an offline sale is held for review instead of applied: a wallet refusal, or what the access domain found. */
export type OfflineSuspicion =
  | Exclude<WalletRefusal, 'seq_conflict' | PinRefusal>
  | 'unknown_card'
  | 'card_lost'
  | 'card_blocked'
  | 'card_expired'
  | 'terminal_clock'
  /** The gateway refused this very transaction online; the terminal, not hearing it, sold offline. */
  | 'refused_online';

/** A sale a terminal made offline, with the holder the access domain found for its card (null: none). */
export interface OfflineSale {
  readerId: string;
  seq: number;
  uid: string;
  personId: number | null;
  amountFen: number;
  /** The terminal's time of the sale (epoch ms). */
  at: number;
  /** Set by the access domain when the card could not be used at `at`; the wallet adds its own refusals. */
  suspicion: OfflineSuspicion | null;
  /** Which upload it came in (`offline:<batch>`), kept as the transaction's tap id. */
  tapId: string;
}

export type OfflineSaleResult =
  | { seq: number; outcome: 'applied'; balance: number }
  /** Already recorded under this (reader, seq): nothing done again. `conflict` when it differs from the first. */
  | { seq: number; outcome: 'duplicate'; conflict: boolean }
  | { seq: number; outcome: 'suspicious'; reason: OfflineSuspicion };

export interface WalletPort {
  debit(input: { personId: number; readerId: string; seq: number; amountFen: number; at: number; tapId: string; pin?: TypedPin | undefined }): Promise<
    { ok: true; balance: number; duplicate: boolean } | { ok: false; reason: WalletRefusal; balance: number }
  >;
  /** Records a terminal's offline sales in one transaction, committed when it returns. */
  recordOffline(sales: readonly OfflineSale[]): OfflineSaleResult[];
}

declare module '../core/bus.js' {
  interface CampusEventMap {
    'tap.decided': TapDecision;
    'lockdown.changed': { active: boolean; by: string; at: number; reason?: string };
  }
}

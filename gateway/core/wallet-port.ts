/**
 * The canteen wallet as the access domain calls it: a port in core, so that neither access nor the wallet imports
 * the other (gateway/compose.ts hands the wallet module's implementation to access). A debit is idempotent on
 * (readerId, seq).
 */
import type { TypedPin } from './taps.js';

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

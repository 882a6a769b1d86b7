/**
 * What the access domain shares with attendance, cloud sync, Node-RED and the console: the decided tap.
 * People and cards are people/'s (gateway/people/types.ts); the wallet port is core's (gateway/core/wallet-port.ts).
 */
import type { PersonRef } from '../people/types.js';
import type { Tap } from '../core/taps.js';
import type { WriteOp } from '../storage/batch-writer.js';

export type AccessPointKind = 'gate' | 'door' | 'classroom' | 'canteen';

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
  /** A door controller refused by its own card list for a reason the gateway has no word for. */
  | 'device_denied'
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

declare module '../core/bus.js' {
  interface CampusEventMap {
    'tap.decided': TapDecision;
    'lockdown.changed': { active: boolean; by: string; at: number; reason?: string };
  }
}

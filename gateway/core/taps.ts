/**
 * A card presented to a reader, whatever the reader's kind (serial, network, RC522, simulated).
 * Readers (drivers/rfid) put taps on the bus as `tap.received`; the access domain decides and
 * announces `tap.decided`.
 */
export interface Tap {
  readerId: string;
  /** Canonical raw UID: upper-case hex, no separators. */
  uid: string;
  /** Epoch ms when the reader saw the card. */
  at: number;
  /** The terminal's own transaction number (POS terminals, network readers); makes retries idempotent. */
  seq?: number;
  /** Canteen POS: the amount to debit, integer fen. */
  amount?: number;
  /**
   * The reader printed a decimal form (8H10D, 6H8D, Wiegand), so `uid` holds only the UID's low bytes:
   * the card is looked up by suffix (gateway/core/card-number.ts).
   */
  partial?: boolean;
}

declare module './bus.js' {
  interface CampusEventMap {
    'tap.received': Tap;
  }
}

/**
 * A card presented to a reader, whatever the reader's kind (serial, network, RC522, simulated).
 * Readers (drivers/rfid) put taps on the bus as `tap.received`; the access domain decides and
 * announces `tap.decided`.
 */
/**
 * A PIN typed on a terminal. The tap carries it to the wallet and nowhere else: it is left out of every JSON
 * encoding (`toJSON` gives undefined, so the key is dropped), which is what the bus mirror, Node-RED, the console's
 * event stream and the logs use, and `util.inspect` shows it redacted.
 */
export class TypedPin {
  readonly #digits: string;

  constructor(digits: string) {
    this.#digits = digits;
  }

  /** For the wallet's check only. */
  reveal(): string {
    return this.#digits;
  }

  toJSON(): undefined {
    return undefined;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'TypedPin [redacted]';
  }
}

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
  /** Canteen POS: the PIN the card holder typed, when the terminal asked for one. */
  pin?: TypedPin;
  /**
   * The reader printed a decimal form (8H10D, 6H8D, Wiegand), so `uid` holds only the UID's low bytes:
   * the card is looked up by suffix (gateway/core/card-number.ts).
   */
  partial?: boolean;
  /**
   * A reader that decides by itself (a door controller with its own card list, drivers/controllers) says what it
   * did; the access domain records that decision instead of deciding again, and says so when it would have decided
   * otherwise (a granted card the gateway holds lost raises `card_lost_used`).
   */
  deviceDecision?: DeviceDecision;
  /** Read back from a device's own log after a gap (gateway restart, outage), not reported live. */
  backfilled?: boolean;
}

/** Why a deciding device refused, in the access domain's words where there is one. */
export type DeviceDenial = 'anti_passback' | 'outside_schedule' | 'lockdown' | 'device_denied';

export interface DeviceDecision {
  granted: boolean;
  denial?: DeviceDenial;
}

/** One sale a POS terminal made by itself while it could not reach the gateway, uploaded when it could again. */
export interface OfflineTransaction {
  uid: string;
  /** As a tap's: the terminal gave only the low bytes (a decimal form), see Tap.partial. */
  partial?: boolean;
  /** The terminal's transaction number, in the same series as its online taps. */
  seq: number;
  /** Integer fen, as the terminal sent it (the wallet judges it). */
  amount: number;
  /** Epoch ms by the terminal's own clock: when the sale was made, not when it arrived. */
  at: number;
}

/** A terminal's upload of offline sales (`campus/readers/<readerId>/offline`). */
export interface OfflineUpload {
  readerId: string;
  /** The terminal's id for this upload, echoed in the answer so it knows which stored batch it may delete. */
  batch: string | null;
  transactions: OfflineTransaction[];
  receivedAt: number;
  /** Why the upload could not be read (then `transactions` is empty and `batch` may be null): refused whole. */
  unreadable?: string;
}

/**
 * During a lockdown, a deciding device (a door controller) let a card through at an access point the lockdown closes,
 * a card with no place on the lockdown's list (one the lockdown refuses, or one unknown, lost or blocked): the
 * device's card list is not the lockdown's. The access domain says
 * so (a swipe from before the lockdown began is not, by the device's clock; one with a log index, `seq`, is left to
 * the driver to judge by that: a device's clock may be set by anyone), the device's driver reads its list again.
 */
export interface LockdownOverruled {
  readerId: string;
  uid: string;
  /** When the device saw the card (epoch ms). */
  at: number;
  /** The swipe's index in the device's own log, when it keeps one (Tap.seq). */
  seq?: number;
  tapId: string;
  /** When the lockdown began (epoch ms): one lockdown's grants are told from the next one's. */
  lockdownSince: number;
}

/**
 * Outside a lockdown, a deciding device (a door controller) let through a card the gateway never gave it: one unknown,
 * lost or blocked (gateway/access/rules.ts notIssued). The device's card list is not the gateway's: a card put on a
 * controller from the LAN opened its gate until the nightly reconciliation. The access domain says so; the device's
 * driver reads its list again (and tells a card the gateway revoked moments ago, its delete not yet through, from one
 * put by someone else). A sibling of LockdownOverruled, which covers the same during a lockdown.
 */
export interface CardNotIssued {
  readerId: string;
  uid: string;
  /** When the device saw the card (epoch ms). */
  at: number;
  /** The swipe's index in the device's own log, when it keeps one (Tap.seq). */
  seq?: number;
  tapId: string;
  /** The gateway's own refusal: unknown_card, card_lost or card_blocked. */
  reason: string;
}

declare module './bus.js' {
  interface CampusEventMap {
    'tap.received': Tap;
    /** From the access domain, for drivers of deciding devices (drivers/controllers), outside a lockdown. */
    'tap.card_not_issued': CardNotIssued;
    /** From the access domain, for drivers of deciding devices (drivers/controllers). */
    'tap.lockdown_overruled': LockdownOverruled;
    /** From network readers (drivers/rfid); the access domain records the sales and answers the terminal. */
    'offline.received': OfflineUpload;
  }
}

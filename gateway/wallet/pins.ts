/**
 * Card holders' PINs for debits above `access.wallet.pinAboveDailyFen` (migration 23). Stored as scrypt hashes;
 * checked on the thread pool before the debit's transaction, because a hash takes tens of milliseconds and the
 * event loop serves every gate meanwhile. A PIN has at most a million values, so what protects it is the lock
 * after `pinMaxAttempts` wrong tries in a row, not the hash.
 */
import { hashSecret, verifySecret } from '../auth/secrets.js';
import type { Clock } from '../core/clock.js';
import { GatewayError } from '../core/errors.js';
import type { Database } from '../storage/db.js';

export interface PinState {
  set: boolean;
  /** Wrong tries in a row since the last right one or lock. */
  failures: number;
  /** ISO time until which paying with the PIN is locked, or null. */
  lockedUntil: string | null;
}

interface PinRow {
  hash: string;
  failures: number;
  locked_until: number | null;
}

export class PinStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** Sets or replaces the PIN; clears a lock and the failure count (the admin has seen the card holder). */
  async set(personId: number, pin: string, by: string): Promise<void> {
    if (!/^\d{4,6}$/.test(pin)) throw new GatewayError('bad_request', 'body.pin: 4 to 6 digits');
    const hash = await hashSecret(pin);
    this.db
      .prepare(
        `INSERT INTO wallet_pins (person_id, hash, failures, locked_until, updated_by, updated_at) VALUES (?, ?, 0, NULL, ?, ?)
         ON CONFLICT(person_id) DO UPDATE SET hash = excluded.hash, failures = 0, locked_until = NULL,
           updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
      )
      .run(personId, hash, by, new Date(this.clock.now()).toISOString());
  }

  clear(personId: number): boolean {
    return this.db.prepare('DELETE FROM wallet_pins WHERE person_id = ?').run(personId).changes > 0;
  }

  state(personId: number): PinState {
    const row = this.row(personId);
    const locked = row?.locked_until != null && row.locked_until > this.clock.now();
    return { set: row !== undefined, failures: row?.failures ?? 0, lockedUntil: locked ? new Date(row.locked_until!).toISOString() : null };
  }

  /** Whether the typed PIN is the person's; undefined when the person has none. Off the event loop. */
  async matches(personId: number, typed: string): Promise<boolean | undefined> {
    const row = this.row(personId);
    if (!row) return undefined;
    // What is not 4–6 digits cannot be anyone's PIN: a wrong one, without the hash's cost.
    return /^\d{4,6}$/.test(typed) ? verifySecret(typed, row.hash) : false;
  }

  /**
   * Records the outcome of a check that a debit relied on; inside the debit's transaction. Returns whether this
   * wrong try locked the PIN.
   */
  record(personId: number, right: boolean, limits: { maxAttempts: number; lockMs: number }): { locked: boolean } {
    const row = this.row(personId);
    if (!row) return { locked: false };
    if (right) {
      if (row.failures > 0) this.db.prepare('UPDATE wallet_pins SET failures = 0 WHERE person_id = ?').run(personId);
      return { locked: false };
    }
    const failures = row.failures + 1;
    const locked = failures >= limits.maxAttempts;
    this.db
      .prepare('UPDATE wallet_pins SET failures = ?, locked_until = ? WHERE person_id = ?')
      .run(locked ? 0 : failures, locked ? this.clock.now() + limits.lockMs : row.locked_until, personId);
    return { locked };
  }

  lockedNow(personId: number): boolean {
    return this.state(personId).lockedUntil !== null;
  }

  private row(personId: number): PinRow | undefined {
    return this.db.prepare('SELECT hash, failures, locked_until FROM wallet_pins WHERE person_id = ?').get(personId) as PinRow | undefined;
  }
}

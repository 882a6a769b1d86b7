/**
 * Debits from POS terminals through the access domain (`WalletPort`). A terminal numbers its transactions, so
 * (reader, seq) identifies one: the first outcome for it, applied or refused, is stored under a primary key
 * (`wallet_terminal_txns`) and every retry gets that same outcome back, never a second debit. The caps, the PIN
 * above the daily threshold and the duplicate bookkeeping live here; offline uploads (offline-sales.ts) share them.
 */
import type { Counter, Registry } from 'prom-client';
import type { PinRefusal, WalletPort } from '../core/wallet-port.js';
import type { AlertService } from '../alerts/alerts.js';
import { GatewayError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Database } from '../storage/db.js';
import { localDate } from '../core/school-calendar.js';
import type { PinStore } from './pins.js';
import type { EntriesDeps, LedgerEntries } from './entries.js';
import { MetricFactory } from '../core/metrics.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';

export type DebitInput = Parameters<WalletPort['debit']>[0];
export type DebitOutcome = Awaited<ReturnType<WalletPort['debit']>>;
export type DebitRefusal = Extract<DebitOutcome, { ok: false }>['reason'];

export interface WalletLimits {
  perTransactionCapFen: number;
  dailyCapFen: number;
  /** Debits taking the day's total above this need the holder's PIN; undefined: never. */
  pinAboveDailyFen?: number | undefined;
  pinMaxAttempts?: number;
  pinLockMinutes?: number;
}

export interface DebitsDeps extends EntriesDeps {
  limits: WalletLimits;
  metrics: Registry;
  alerts?: AlertService | undefined;
}

export interface TxnRow {
  reader_id: string;
  seq: number;
  person_id: number | null;
  amount_fen: number;
  outcome: 'applied' | 'suspicious' | DebitRefusal;
  entry_id: number | null;
  balance_fen: number;
  review: 'pending' | 'accepted' | 'rejected' | null;
}

export class TerminalDebits {
  private readonly db: Database;
  private readonly debits: Counter<'outcome'>;
  private readonly duplicates: Counter<'conflict'>;
  private readonly log: Logger;
  private readonly duplicateLog = new Map<string, { at: number; suppressed: number }>();
  /** Conflicts, as duplicates: at most a line per terminal per 10 s (every one is counted and alerted). */
  private readonly conflictLog: RateLimitedLog;

  constructor(
    private readonly deps: DebitsDeps,
    private readonly entries: LedgerEntries,
    readonly pins: PinStore,
  ) {
    this.db = deps.db;
    this.log = deps.log;
    this.conflictLog = new RateLimitedLog(deps.log, () => deps.clock.now(), 10_000);
    const m = new MetricFactory(deps.metrics);
    this.debits = m.counter('campus_wallet_debits_total', 'Canteen debits by outcome (applied or the refusal reason); retries are counted apart', ['outcome']);
    this.duplicates = m.counter('campus_wallet_duplicate_debits_total', 'Debits repeated with a (reader, seq) already answered; conflict=true when the retry differs from the original', ['conflict']);
  }

  /** Counts an outcome that is not a retry (online or offline) in `campus_wallet_debits_total`. */
  count(outcome: string): void {
    this.debits.inc({ outcome });
  }

  /**
   * WalletPort. The transaction has committed (and, with storage.synchronous=full, reached the disk) when
   * the promise resolves, so the access domain may tell the terminal "paid".
   */
  async debit(input: DebitInput): Promise<DebitOutcome> {
    // Only a debit that may need the PIN pays for checking it (scrypt on the thread pool, tens of ms). Whether it is
    // needed is decided again inside the transaction; a PIN checked here is only used there.
    const typed = input.pin?.reveal();
    const pinMatches = typed !== undefined && this.mayNeedPin(input) ? await this.pins.matches(input.personId, typed) : undefined;
    return this.debitSync(input, pinMatches);
  }

  /** `pinMatches`: the result of checking the typed PIN (undefined: none typed, none set, or not checked). */
  debitSync(input: DebitInput, pinMatches?: boolean): DebitOutcome {
    if (!Number.isSafeInteger(input.seq) || input.seq < 0) {
      throw new GatewayError('bad_request', `terminal seq must be a non-negative integer, got ${String(input.seq)}`);
    }
    const at = Number.isFinite(input.at) ? input.at : this.deps.clock.now();
    const date = localDate(at, this.deps.timezone);
    const now = new Date(this.deps.clock.now()).toISOString();
    const locks: number[] = [];
    const result = this.db
      .transaction((): { outcome: DebitOutcome; duplicate: boolean; conflict: boolean } => {
        const prior = this.seenBefore(input, now);
        if (prior) {
          // A conflict is another card or amount under a number already used: nothing is charged, and its answer is
          // not the original's (that would tell this card it paid, with someone else's balance). A number first
          // used by an offline sale held for review answers as a conflict too: it was never "paid" online.
          // A payment's retry shows the balance as it is now (other payments may have come since); a refusal's, the one
          // it was refused with, so that "insufficient funds" never comes with a balance that would have paid.
          const { row, conflict } = prior;
          const outcome: DebitOutcome =
            conflict || row.outcome === 'suspicious'
              ? { ok: false, reason: 'seq_conflict', balance: this.entries.balanceOf(input.personId) }
              : row.outcome === 'applied'
                ? { ok: true, balance: this.entries.balanceOf(input.personId), duplicate: true }
                : { ok: false, reason: row.outcome, balance: row.balance_fen };
          return { outcome, duplicate: true, conflict };
        }

        const balance = this.entries.balanceOf(input.personId);
        const refusal = this.refusalFor(input, date) ?? this.pinRefusal(input, date, pinMatches, locks);
        const record = this.db.prepare(
          `INSERT INTO wallet_terminal_txns (reader_id, seq, person_id, amount_fen, outcome, entry_id, balance_fen, tap_id, local_date, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        const amountKept = keptFen(input.amountFen);
        if (refusal) {
          record.run(input.readerId, input.seq, input.personId, amountKept, refusal, null, balance, input.tapId, date, now);
          return { outcome: { ok: false, reason: refusal, balance }, duplicate: false, conflict: false };
        }
        const entry = this.bookSale({ ...input, occurredAt: at }, 'canteen');
        record.run(input.readerId, input.seq, input.personId, input.amountFen, 'applied', entry.id, entry.balance, input.tapId, date, now);
        return { outcome: { ok: true, balance: entry.balance, duplicate: false }, duplicate: false, conflict: false };
      })
      .immediate();

    const { outcome } = result;
    if (locks.length > 0) this.reportPinLocked(input);
    if (result.duplicate) this.reportDuplicate(input, result.conflict);
    else this.debits.inc({ outcome: outcome.ok ? 'applied' : outcome.reason });
    return outcome;
  }

  /**
   * A terminal's sale as a ledger debit, under the terminal's number (reader, seq) and the tap that made it. Runs
   * inside the caller's transaction; `actor` is the terminal unless an admin accepted the sale on review.
   */
  bookSale(
    sale: { personId: number; amountFen: number; readerId: string; seq: number; tapId: string; occurredAt: number },
    reason: string,
    actor = `reader:${sale.readerId}`,
  ): { id: number; balance: number } {
    return this.entries.insert({
      personId: sale.personId,
      kind: 'debit',
      amountFen: -sale.amountFen,
      reason,
      actor,
      readerId: sale.readerId,
      terminalSeq: sale.seq,
      tapId: sale.tapId,
      refundOf: null,
      occurredAt: sale.occurredAt,
    });
  }

  /**
   * The first record of a (reader, seq), counted once more as a duplicate (and as a conflict when the card or
   * amount differs); undefined when the number is new. Runs inside the caller's transaction.
   */
  seenBefore(input: { readerId: string; seq: number; personId: number | null; amountFen: number }, now: string): { row: TxnRow; conflict: boolean } | undefined {
    const row = this.db
      .prepare('SELECT reader_id, seq, person_id, amount_fen, outcome, entry_id, balance_fen, review FROM wallet_terminal_txns WHERE reader_id = ? AND seq = ?')
      .get(input.readerId, input.seq) as TxnRow | undefined;
    if (!row) return undefined;
    const conflict = row.person_id !== input.personId || row.amount_fen !== keptFen(input.amountFen);
    this.db
      .prepare(
        `UPDATE wallet_terminal_txns SET duplicates = duplicates + 1, conflicts = conflicts + ?, last_duplicate_at = ?
         WHERE reader_id = ? AND seq = ?`,
      )
      .run(conflict ? 1 : 0, now, input.readerId, input.seq);
    return { row, conflict };
  }

  reportDuplicate(input: { readerId: string; seq: number; personId: number | null; amountFen: number; tapId: string }, conflict: boolean): void {
    this.duplicates.inc({ conflict: String(conflict) });
    const fields = { readerId: input.readerId, seq: input.seq, personId: input.personId, amountFen: input.amountFen, tapId: input.tapId };
    if (!conflict) {
      this.logDuplicate(fields);
      return;
    }
    this.conflictLog.warn(fields.readerId, fields, 'wallet: a terminal transaction number came again with a different card or amount; refused, not charged');
    this.deps.alerts?.raise({
      type: 'wallet_seq_conflict',
      severity: 'warning',
      source: `reader:${input.readerId}`,
      message: `Terminal ${input.readerId} sent transaction ${input.seq} again with a different card or amount`,
      data: fields,
    });
  }

  /** Sets the card holder's PIN at the desk; a lock after wrong tries ends, and so does its alert. */
  async setPin(personId: number, pin: string, by: string): Promise<void> {
    await this.pins.set(personId, pin, by);
    this.deps.alerts?.resolveByKey(`wallet_pin_locked:${personId}`, by, 'PIN set again');
  }

  /**
   * Every duplicate is counted durably (wallet_terminal_txns.duplicates) and in the metric; the log gets at most
   * one line per terminal per 10 s, so a terminal stuck retrying cannot flood it.
   */
  private logDuplicate(fields: { readerId: string; seq: number } & Record<string, unknown>): void {
    const now = this.deps.clock.now();
    const state = this.duplicateLog.get(fields.readerId);
    if (state && now - state.at < 10_000) {
      state.suppressed++;
      return;
    }
    this.duplicateLog.set(fields.readerId, { at: now, suppressed: 0 });
    this.log.info({ ...fields, suppressedSinceLast: state?.suppressed ?? 0 }, 'wallet: duplicate terminal transaction, not applied again');
  }

  refusalFor(input: { personId: number; amountFen: number }, date: string): Exclude<DebitRefusal, 'seq_conflict' | PinRefusal> | null {
    const amount = input.amountFen;
    if (!Number.isSafeInteger(amount) || amount <= 0) return 'invalid_amount';
    if (amount > this.deps.limits.perTransactionCapFen) return 'over_limit';
    if (this.entries.spentOn(input.personId, date) + amount > this.deps.limits.dailyCapFen) return 'over_daily_limit';
    if (this.entries.balanceOf(input.personId) < amount) return 'insufficient_funds';
    return null;
  }

  private needsPin(personId: number, amountFen: number, date: string): boolean {
    const threshold = this.deps.limits.pinAboveDailyFen;
    return threshold !== undefined && this.entries.spentOn(personId, date) + amountFen > threshold;
  }

  private mayNeedPin(input: DebitInput): boolean {
    return this.needsPin(input.personId, input.amountFen, localDate(Number.isFinite(input.at) ? input.at : this.deps.clock.now(), this.deps.timezone));
  }

  /**
   * Above the threshold: the holder's PIN, checked before the transaction (`matches`), must have been right. Runs
   * inside the debit's transaction, which also records a wrong try; `locks` gets the person when it locked the PIN.
   * Asked last, so nobody types a PIN to hear that the money is not there.
   */
  private pinRefusal(input: DebitInput, date: string, matches: boolean | undefined, locks: number[]): PinRefusal | null {
    if (!this.needsPin(input.personId, input.amountFen, date)) return null;
    if (this.pins.lockedNow(input.personId)) return 'pin_locked';
    // Not typed, none set for the person, or needed only since the check (another debit came first): ask for it.
    if (matches === undefined) return 'pin_required';
    const { locked } = this.pins.record(input.personId, matches, {
      maxAttempts: this.deps.limits.pinMaxAttempts ?? 3,
      lockMs: (this.deps.limits.pinLockMinutes ?? 30) * 60_000,
    });
    if (locked) locks.push(input.personId);
    return matches ? null : locked ? 'pin_locked' : 'pin_wrong';
  }

  private reportPinLocked(input: DebitInput): void {
    const fields = { readerId: input.readerId, personId: input.personId, externalId: this.entries.externalIdOf(input.personId) };
    this.log.warn(fields, 'wallet: PIN locked after wrong tries');
    this.deps.alerts?.raise({
      type: 'wallet_pin_locked',
      severity: 'warning',
      source: `reader:${input.readerId}`,
      message: `Wrong PIN entered ${this.deps.limits.pinMaxAttempts ?? 3} times in a row for ${fields.externalId ?? `person ${input.personId}`}; paying with the PIN is locked`,
      data: fields,
      dedupKey: `wallet_pin_locked:${input.personId}`,
    });
  }
}

/**
 * What the terminal log keeps of an amount: integer fen, or 0 for one that is not (yuan, text), so that the refusal
 * itself can be remembered and counted without a fraction of a fen entering any sum.
 */
export function keptFen(amount: number): number {
  return Number.isSafeInteger(amount) ? amount : 0;
}

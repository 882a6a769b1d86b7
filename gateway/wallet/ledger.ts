/**
 * The canteen wallet: an append-only ledger of integer-fen entries per person. Every change of a balance is
 * an entry (top-up, debit, refund, correction) with its reason and actor, written in one transaction with
 * the cached balance; `check()` proves the cache equals the ledger.
 *
 * Debits come from POS terminals through the access domain (`WalletPort`). A terminal numbers its
 * transactions, so (reader, seq) identifies one: the first outcome for it, applied or refused, is stored
 * under a primary key and every retry gets that same outcome back, never a second debit.
 */
import { Counter, type Registry } from 'prom-client';
import type { OfflineSale, OfflineSaleResult, OfflineSuspicion, PinRefusal, WalletPort } from '../core/wallet-port.js';
import type { AlertService } from '../alerts/alerts.js';
import type { Clock } from '../core/clock.js';
import { GatewayError, notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Database } from '../storage/db.js';
import { localDate, localTime } from '../core/school-calendar.js';
import { PinStore } from './pins.js';
import { fromReviewRow, REVIEW_SELECT, type OfflineReviewItem, type ReviewRow, type ReviewStatus } from './review.js';

export type DebitInput = Parameters<WalletPort['debit']>[0];
export type DebitOutcome = Awaited<ReturnType<WalletPort['debit']>>;
export type DebitRefusal = Extract<DebitOutcome, { ok: false }>['reason'];
export type EntryKind = 'topup' | 'debit' | 'refund' | 'correction';

export interface WalletPerson {
  id: number;
  externalId: string;
  name: string;
  grade: string | null;
  class: string | null;
}

export interface LedgerEntry {
  id: number;
  kind: EntryKind;
  /** Signed integer fen: positive credits the person, negative debits. */
  amountFen: number;
  reason: string | null;
  actor: string;
  readerId: string | null;
  terminalSeq: number | null;
  tapId: string | null;
  refundOf: number | null;
  localDate: string;
  occurredAt: string;
  createdAt: string;
}

export interface WalletLimits {
  perTransactionCapFen: number;
  dailyCapFen: number;
  /** Debits taking the day's total above this need the holder's PIN; undefined: never. */
  pinAboveDailyFen?: number | undefined;
  pinMaxAttempts?: number;
  pinLockMinutes?: number;
}

export interface WalletDeps {
  db: Database;
  clock: Clock;
  timezone: string;
  limits: WalletLimits;
  log: Logger;
  metrics: Registry;
  alerts?: AlertService;
}

interface EntryRow {
  id: number;
  person_id: number;
  kind: EntryKind;
  amount_fen: number;
  reason: string | null;
  actor: string;
  reader_id: string | null;
  terminal_seq: number | null;
  tap_id: string | null;
  refund_of: number | null;
  local_date: string;
  occurred_at: number;
  created_at: string;
}

interface TxnRow {
  reader_id: string;
  seq: number;
  person_id: number | null;
  amount_fen: number;
  outcome: 'applied' | 'suspicious' | DebitRefusal;
  entry_id: number | null;
  balance_fen: number;
  review: 'pending' | 'accepted' | 'rejected' | null;
}

const fromEntryRow = (r: EntryRow): LedgerEntry => ({
  id: r.id,
  kind: r.kind,
  amountFen: r.amount_fen,
  reason: r.reason,
  actor: r.actor,
  readerId: r.reader_id,
  terminalSeq: r.terminal_seq,
  tapId: r.tap_id,
  refundOf: r.refund_of,
  localDate: r.local_date,
  occurredAt: new Date(r.occurred_at).toISOString(),
  createdAt: r.created_at,
});

export interface CheckReport {
  ok: boolean;
  checkedAt: string;
  persons: number;
  entries: number;
  ledgerTotalFen: number;
  /** Persons whose cached balance differs from the sum of their entries (or whose sum is negative). */
  mismatches: { personId: number; externalId: string | null; cachedFen: number; ledgerFen: number }[];
  /** Terminal transactions recorded as applied whose ledger entry is missing or differs, and debits without one. */
  terminalMismatches: { readerId: string; seq: number; problem: string }[];
}

export interface TerminalReconciliation {
  readerId: string;
  /** Debits applied, from the terminal transaction log. */
  count: number;
  sumFen: number;
  /** The same figures from the ledger; they must match. */
  ledgerCount: number;
  ledgerSumFen: number;
  refused: Partial<Record<DebitRefusal, number>>;
  /** Retries of an already-answered (reader, seq): logged, never applied. */
  duplicates: number;
  /** Retries that carried a different person or amount than the original: flagged for review. */
  conflicts: number;
  /** Of `count`/`sumFen`: sales the terminal made offline and uploaded later (applied at their own time). */
  offline: { count: number; sumFen: number };
  /** Offline sales the wallet could not apply, by review state; `pending` ones leave the day not `ok`. */
  suspicious: { pending: number; pendingFen: number; accepted: number; rejected: number };
  matches: boolean;
}

export interface Reconciliation {
  date: string;
  ok: boolean;
  terminals: TerminalReconciliation[];
  totals: Record<EntryKind, { count: number; sumFen: number }>;
}

export interface SalesSummary {
  date: string;
  count: number;
  grossFen: number;
  refundsFen: number;
  netFen: number;
  buyers: number;
  byTerminal: { readerId: string; count: number; sumFen: number }[];
  byHour: { hour: number; count: number; sumFen: number }[];
}

export class Wallet implements WalletPort {
  private readonly db: Database;
  private readonly debits: Counter<'outcome'>;
  private readonly duplicates: Counter<'conflict'>;
  private readonly log: Logger;
  private lastCheck: CheckReport | undefined;
  private readonly duplicateLog = new Map<string, { at: number; suppressed: number }>();
  readonly pins: PinStore;

  constructor(private readonly deps: WalletDeps) {
    this.db = deps.db;
    this.pins = new PinStore(deps.db, deps.clock);
    this.log = deps.log;
    this.debits = new Counter({
      name: 'campus_wallet_debits_total',
      help: 'Canteen debits by outcome (applied or the refusal reason); retries are counted apart',
      labelNames: ['outcome'],
      registers: [deps.metrics],
    });
    this.duplicates = new Counter({
      name: 'campus_wallet_duplicate_debits_total',
      help: 'Debits repeated with a (reader, seq) already answered; conflict=true when the retry differs from the original',
      labelNames: ['conflict'],
      registers: [deps.metrics],
    });
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
              ? { ok: false, reason: 'seq_conflict', balance: this.balanceOf(input.personId) }
              : row.outcome === 'applied'
                ? { ok: true, balance: this.balanceOf(input.personId), duplicate: true }
                : { ok: false, reason: row.outcome, balance: row.balance_fen };
          return { outcome, duplicate: true, conflict };
        }

        const balance = this.balanceOf(input.personId);
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
        const entry = this.insertEntry({
          personId: input.personId,
          kind: 'debit',
          amountFen: -input.amountFen,
          reason: 'canteen',
          actor: `reader:${input.readerId}`,
          readerId: input.readerId,
          terminalSeq: input.seq,
          tapId: input.tapId,
          refundOf: null,
          occurredAt: at,
        });
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
   * The first record of a (reader, seq), counted once more as a duplicate (and as a conflict when the card or
   * amount differs); undefined when the number is new. Runs inside the caller's transaction.
   */
  private seenBefore(input: { readerId: string; seq: number; personId: number | null; amountFen: number }, now: string): { row: TxnRow; conflict: boolean } | undefined {
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

  private reportDuplicate(input: { readerId: string; seq: number; personId: number | null; amountFen: number; tapId: string }, conflict: boolean): void {
    this.duplicates.inc({ conflict: String(conflict) });
    const fields = { readerId: input.readerId, seq: input.seq, personId: input.personId, amountFen: input.amountFen, tapId: input.tapId };
    if (!conflict) {
      this.logDuplicate(fields);
      return;
    }
    this.log.warn(fields, 'wallet: a terminal transaction number came again with a different card or amount; refused, not charged');
    this.deps.alerts?.raise({
      type: 'wallet_seq_conflict',
      severity: 'warning',
      source: `reader:${input.readerId}`,
      message: `Terminal ${input.readerId} sent transaction ${input.seq} again with a different card or amount`,
      data: fields,
    });
  }

  /**
   * WalletPort. Sales a terminal made while offline, in one transaction. The food was handed over already, so
   * nothing is refused: a sale the online rules allow is applied as a debit at the terminal's time (its school day
   * counts it, caps included); any other is kept as `suspicious` for an admin's review (`review()`), never applied
   * on its own and never lost. A number seen before is a duplicate, as online, unless it was refused online: the
   * terminal then sold what the gateway had refused, and that is held too (`refused_online`).
   */
  recordOffline(sales: readonly OfflineSale[]): OfflineSaleResult[] {
    const now = new Date(this.deps.clock.now()).toISOString();
    const duplicates: { sale: OfflineSale; conflict: boolean }[] = [];
    const results = this.db
      .transaction((): OfflineSaleResult[] =>
        sales.map((sale): OfflineSaleResult => {
          const prior = this.seenBefore(sale, now);
          if (prior && !prior.conflict && prior.row.review === null && prior.row.outcome !== 'applied' && prior.row.outcome !== 'suspicious') {
            // Refused online, sold offline anyway: the terminal never heard the refusal. Held for review, its
            // refusal kept as the outcome.
            this.db
              .prepare(`UPDATE wallet_terminal_txns SET offline = 1, uid = ?, occurred_at = ?, suspicion = 'refused_online', review = 'pending' WHERE reader_id = ? AND seq = ?`)
              .run(sale.uid, sale.at, sale.readerId, sale.seq);
            return { seq: sale.seq, outcome: 'suspicious', reason: 'refused_online' };
          }
          if (prior) {
            duplicates.push({ sale, conflict: prior.conflict });
            return { seq: sale.seq, outcome: 'duplicate', conflict: prior.conflict };
          }
          const date = localDate(sale.at, this.deps.timezone);
          const reason: OfflineSuspicion | null =
            sale.suspicion ?? (sale.personId === null ? 'unknown_card' : this.refusalFor({ personId: sale.personId, amountFen: sale.amountFen }, date));
          const amountKept = keptFen(sale.amountFen);
          const record = this.db.prepare(
            `INSERT INTO wallet_terminal_txns (reader_id, seq, person_id, amount_fen, outcome, entry_id, balance_fen, tap_id, local_date,
               created_at, offline, uid, occurred_at, suspicion, review) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
          );
          if (reason !== null || sale.personId === null) {
            const balance = sale.personId === null ? 0 : this.balanceOf(sale.personId);
            record.run(sale.readerId, sale.seq, sale.personId, amountKept, 'suspicious', null, balance, sale.tapId, date, now, sale.uid, sale.at, reason, 'pending');
            return { seq: sale.seq, outcome: 'suspicious', reason: reason ?? 'unknown_card' };
          }
          const entry = this.insertEntry({
            personId: sale.personId,
            kind: 'debit',
            amountFen: -sale.amountFen,
            reason: 'canteen (offline)',
            actor: `reader:${sale.readerId}`,
            readerId: sale.readerId,
            terminalSeq: sale.seq,
            tapId: sale.tapId,
            refundOf: null,
            occurredAt: sale.at,
          });
          record.run(sale.readerId, sale.seq, sale.personId, sale.amountFen, 'applied', entry.id, entry.balance, sale.tapId, date, now, sale.uid, sale.at, null, null);
          return { seq: sale.seq, outcome: 'applied', balance: entry.balance };
        }),
      )
      .immediate();

    for (const d of duplicates) this.reportDuplicate(d.sale, d.conflict);
    const held = results.filter((r) => r.outcome === 'suspicious');
    for (const r of results) if (r.outcome !== 'duplicate') this.debits.inc({ outcome: r.outcome === 'applied' ? 'offline_applied' : 'offline_suspicious' });
    if (held.length > 0) {
      const readerId = sales[0]!.readerId;
      this.log.warn({ readerId, held: held.length, of: sales.length }, 'wallet: offline sales held for review');
      this.deps.alerts?.raise({
        type: 'wallet_offline_review',
        severity: 'warning',
        source: `reader:${readerId}`,
        message: `Terminal ${readerId} uploaded ${held.length} offline sale(s) the wallet could not apply; review them`,
        data: { readerId, held: held.length, pending: this.pendingReviews(readerId) },
        dedupKey: `wallet_offline_review:${readerId}`,
      });
    }
    return results;
  }

  /** Sets the card holder's PIN at the desk; a lock after wrong tries ends, and so does its alert. */
  async setPin(personId: number, pin: string, by: string): Promise<void> {
    await this.pins.set(personId, pin, by);
    this.deps.alerts?.resolveByKey(`wallet_pin_locked:${personId}`, by, 'PIN set again');
  }

  private pendingReviews(readerId: string): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM wallet_terminal_txns WHERE reader_id = ? AND review = 'pending'`).get(readerId) as { n: number }).n;
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

  private refusalFor(input: { personId: number; amountFen: number }, date: string): Exclude<DebitRefusal, 'seq_conflict' | PinRefusal> | null {
    const amount = input.amountFen;
    if (!Number.isSafeInteger(amount) || amount <= 0) return 'invalid_amount';
    if (amount > this.deps.limits.perTransactionCapFen) return 'over_limit';
    if (this.spentOn(input.personId, date) + amount > this.deps.limits.dailyCapFen) return 'over_daily_limit';
    if (this.balanceOf(input.personId) < amount) return 'insufficient_funds';
    return null;
  }

  /** The person's debits on a school day, in fen (positive). */
  private spentOn(personId: number, date: string): number {
    return (
      this.db
        .prepare(`SELECT COALESCE(-SUM(amount_fen), 0) AS spent FROM wallet_entries WHERE person_id = ? AND local_date = ? AND kind = 'debit'`)
        .get(personId, date) as { spent: number }
    ).spent;
  }

  private needsPin(personId: number, amountFen: number, date: string): boolean {
    const threshold = this.deps.limits.pinAboveDailyFen;
    return threshold !== undefined && this.spentOn(personId, date) + amountFen > threshold;
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
    const fields = { readerId: input.readerId, personId: input.personId, externalId: this.externalIdOf(input.personId) };
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

  /** Appends an entry and moves the cached balance; must run inside a transaction. */
  private insertEntry(e: {
    personId: number;
    kind: EntryKind;
    amountFen: number;
    reason: string | null;
    actor: string;
    readerId: string | null;
    terminalSeq: number | null;
    tapId: string | null;
    refundOf: number | null;
    occurredAt: number;
  }): { id: number; balance: number } {
    const balance = this.balanceOf(e.personId) + e.amountFen;
    if (balance < 0) {
      throw new GatewayError('insufficient_funds', `the balance would become negative (${balance} fen)`, 409);
    }
    const now = new Date(this.deps.clock.now()).toISOString();
    const info = this.db
      .prepare(
        `INSERT INTO wallet_entries (person_id, amount_fen, kind, reason, actor, reader_id, terminal_seq, tap_id, refund_of,
           local_date, occurred_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(e.personId, e.amountFen, e.kind, e.reason, e.actor, e.readerId, e.terminalSeq, e.tapId, e.refundOf,
        localDate(e.occurredAt, this.deps.timezone), e.occurredAt, now);
    this.db
      .prepare(
        `INSERT INTO wallet_accounts (person_id, balance_fen, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(person_id) DO UPDATE SET balance_fen = excluded.balance_fen, updated_at = excluded.updated_at`,
      )
      .run(e.personId, balance, now);
    return { id: Number(info.lastInsertRowid), balance };
  }

  balanceOf(personId: number): number {
    const row = this.db.prepare('SELECT balance_fen FROM wallet_accounts WHERE person_id = ?').get(personId) as
      | { balance_fen: number }
      | undefined;
    return row?.balance_fen ?? 0;
  }

  private externalIdOf(personId: number): string | null {
    const row = this.db.prepare('SELECT external_id FROM persons WHERE id = ?').get(personId) as { external_id: string } | undefined;
    return row?.external_id ?? null;
  }

  findPerson(externalId: string): WalletPerson | undefined {
    const row = this.db.prepare('SELECT id, external_id, name, grade, class FROM persons WHERE external_id = ?').get(externalId) as
      | { id: number; external_id: string; name: string; grade: string | null; class: string | null }
      | undefined;
    return row && { id: row.id, externalId: row.external_id, name: row.name, grade: row.grade, class: row.class };
  }

  person(externalId: string): WalletPerson {
    const p = this.findPerson(externalId);
    if (!p) throw notFound(`person ${externalId}`);
    return p;
  }

  /** Admin credit. */
  topUp(externalId: string, amountFen: number, reason: string, actor: string): { entry: LedgerEntry; balanceFen: number } {
    positiveFen(amountFen);
    return this.post(this.person(externalId).id, { kind: 'topup', amountFen, reason, actor, refundOf: null });
  }

  /**
   * Money given back. With `entryId` it refers to one debit of this person and, together with earlier
   * refunds of it, may not exceed what that debit took.
   */
  refund(
    externalId: string,
    amountFen: number,
    reason: string,
    actor: string,
    entryId?: number,
  ): { entry: LedgerEntry; balanceFen: number } {
    positiveFen(amountFen);
    const person = this.person(externalId);
    return this.db
      .transaction(() => {
        if (entryId !== undefined) {
          const debit = this.db.prepare('SELECT * FROM wallet_entries WHERE id = ?').get(entryId) as EntryRow | undefined;
          if (!debit || debit.person_id !== person.id) throw notFound(`entry ${entryId} of ${externalId}`);
          if (debit.kind !== 'debit') throw new GatewayError('conflict', `entry ${entryId} is a ${debit.kind}, not a debit`);
          const refunded = (
            this.db.prepare(`SELECT COALESCE(SUM(amount_fen), 0) AS s FROM wallet_entries WHERE refund_of = ? AND kind = 'refund'`).get(entryId) as {
              s: number;
            }
          ).s;
          if (refunded + amountFen > -debit.amount_fen) {
            throw new GatewayError(
              'conflict',
              `entry ${entryId} debited ${-debit.amount_fen} fen and ${refunded} fen were already refunded; ${amountFen} more is too much`,
            );
          }
        }
        return this.post(person.id, { kind: 'refund', amountFen, reason, actor, refundOf: entryId ?? null });
      })
      .immediate();
  }

  /** Admin adjustment either way (a till error, a migration from the old system); never below zero. */
  correct(externalId: string, amountFen: number, reason: string, actor: string): { entry: LedgerEntry; balanceFen: number } {
    if (!Number.isSafeInteger(amountFen) || amountFen === 0) throw new GatewayError('bad_request', 'amountFen must be a non-zero integer');
    return this.post(this.person(externalId).id, { kind: 'correction', amountFen, reason, actor, refundOf: null });
  }

  private post(
    personId: number,
    e: { kind: EntryKind; amountFen: number; reason: string; actor: string; refundOf: number | null },
  ): { entry: LedgerEntry; balanceFen: number } {
    return this.db
      .transaction(() => {
        const { id, balance } = this.insertEntry({
          personId,
          ...e,
          readerId: null,
          terminalSeq: null,
          tapId: null,
          occurredAt: this.deps.clock.now(),
        });
        this.log.info({ personId, kind: e.kind, amountFen: e.amountFen, actor: e.actor, entryId: id }, 'wallet entry');
        return { entry: this.entry(id), balanceFen: balance };
      })
      .immediate();
  }

  entry(id: number): LedgerEntry {
    const row = this.db.prepare('SELECT * FROM wallet_entries WHERE id = ?').get(id) as EntryRow | undefined;
    if (!row) throw notFound(`entry ${id}`);
    return fromEntryRow(row);
  }

  /** Newest first; `before` is the last id of the previous page. */
  history(personId: number, q: { limit: number; before?: number | undefined }): { items: LedgerEntry[]; nextBefore: number | null } {
    const rows = this.db
      .prepare(`SELECT * FROM wallet_entries WHERE person_id = ? AND id < ? ORDER BY id DESC LIMIT ?`)
      .all(personId, q.before ?? Number.MAX_SAFE_INTEGER, q.limit + 1) as EntryRow[];
    const items = rows.slice(0, q.limit).map(fromEntryRow);
    return { items, nextBefore: rows.length > q.limit ? items[items.length - 1]!.id : null };
  }

  /** Proves every cached balance equals the sum of its entries and that every applied terminal transaction is in the ledger. */
  check(): CheckReport {
    const report = this.db
      .transaction((): CheckReport => {
        const mismatches = (
          this.db
            .prepare(
              `SELECT person_id AS personId, SUM(cached) AS cachedFen, SUM(ledger) AS ledgerFen
               FROM (SELECT person_id, amount_fen AS ledger, 0 AS cached FROM wallet_entries
                     UNION ALL SELECT person_id, 0, balance_fen FROM wallet_accounts)
               GROUP BY person_id HAVING SUM(ledger) <> SUM(cached) OR SUM(ledger) < 0`,
            )
            .all() as Omit<CheckReport['mismatches'][number], 'externalId'>[]
        ).map((m) => ({ ...m, externalId: this.externalIdOf(m.personId) }));
        const terminalMismatches = this.db
          .prepare(
            `SELECT x.reader_id AS readerId, x.seq, 'applied transaction has no matching ledger entry' AS problem
               FROM wallet_terminal_txns x LEFT JOIN wallet_entries e ON e.id = x.entry_id
               WHERE x.outcome = 'applied' AND (e.id IS NULL OR e.amount_fen <> -x.amount_fen OR e.reader_id <> x.reader_id OR e.terminal_seq <> x.seq)
             UNION ALL
             SELECT e.reader_id, e.terminal_seq, 'debit entry has no applied terminal transaction'
               FROM wallet_entries e LEFT JOIN wallet_terminal_txns x ON x.reader_id = e.reader_id AND x.seq = e.terminal_seq
               WHERE e.kind = 'debit' AND (x.reader_id IS NULL OR x.outcome <> 'applied' OR x.entry_id <> e.id)`,
          )
          .all() as CheckReport['terminalMismatches'];
        const totals = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(amount_fen), 0) AS s FROM wallet_entries').get() as {
          n: number;
          s: number;
        };
        const persons = (this.db.prepare('SELECT COUNT(*) AS n FROM wallet_accounts').get() as { n: number }).n;
        return {
          ok: mismatches.length === 0 && terminalMismatches.length === 0,
          checkedAt: new Date(this.deps.clock.now()).toISOString(),
          persons,
          entries: totals.n,
          ledgerTotalFen: totals.s,
          mismatches,
          terminalMismatches,
        };
      })
      .deferred();
    this.lastCheck = report;
    return report;
  }

  get lastCheckReport(): CheckReport | undefined {
    return this.lastCheck;
  }

  /** End of day per terminal: what the terminal log says was taken, beside what the ledger holds. Never adjusts anything. */
  reconciliation(date: string): Reconciliation {
    const txns = this.db
      .prepare(
        `SELECT reader_id AS readerId, outcome, offline, review, COUNT(*) AS n, COALESCE(SUM(amount_fen), 0) AS s,
                SUM(duplicates) AS dups, SUM(conflicts) AS conflicts
         FROM wallet_terminal_txns WHERE local_date = ? GROUP BY reader_id, outcome, offline, review`,
      )
      .all(date) as {
      readerId: string;
      outcome: TxnRow['outcome'];
      offline: 0 | 1;
      review: 'pending' | 'accepted' | 'rejected' | null;
      n: number;
      s: number;
      dups: number;
      conflicts: number;
    }[];
    const ledger = this.db
      .prepare(
        `SELECT reader_id AS readerId, COUNT(*) AS n, COALESCE(-SUM(amount_fen), 0) AS s FROM wallet_entries
         WHERE local_date = ? AND kind = 'debit' GROUP BY reader_id`,
      )
      .all(date) as { readerId: string; n: number; s: number }[];
    const byReader = new Map<string, TerminalReconciliation>();
    const get = (readerId: string): TerminalReconciliation => {
      let t = byReader.get(readerId);
      if (!t) {
        t = {
          readerId,
          count: 0,
          sumFen: 0,
          ledgerCount: 0,
          ledgerSumFen: 0,
          refused: {},
          duplicates: 0,
          conflicts: 0,
          offline: { count: 0, sumFen: 0 },
          suspicious: { pending: 0, pendingFen: 0, accepted: 0, rejected: 0 },
          matches: true,
        };
        byReader.set(readerId, t);
      }
      return t;
    };
    for (const r of txns) {
      const t = get(r.readerId);
      t.duplicates += r.dups;
      t.conflicts += r.conflicts;
      if (r.review) t.suspicious[r.review] += r.n;
      if (r.review === 'pending') t.suspicious.pendingFen += r.s;
      if (r.outcome === 'applied') {
        t.count += r.n;
        t.sumFen += r.s;
        if (r.offline) {
          t.offline.count += r.n;
          t.offline.sumFen += r.s;
        }
      } else if (r.outcome !== 'suspicious') {
        t.refused[r.outcome] = (t.refused[r.outcome] ?? 0) + r.n;
      }
    }
    for (const r of ledger) {
      const t = get(r.readerId);
      t.ledgerCount = r.n;
      t.ledgerSumFen = r.s;
    }
    const terminals = [...byReader.values()].sort((a, b) => a.readerId.localeCompare(b.readerId));
    for (const t of terminals) t.matches = t.count === t.ledgerCount && t.sumFen === t.ledgerSumFen && t.conflicts === 0;
    const totals: Reconciliation['totals'] = {
      topup: { count: 0, sumFen: 0 },
      debit: { count: 0, sumFen: 0 },
      refund: { count: 0, sumFen: 0 },
      correction: { count: 0, sumFen: 0 },
    };
    const kinds = this.db
      .prepare('SELECT kind, COUNT(*) AS n, COALESCE(SUM(amount_fen), 0) AS s FROM wallet_entries WHERE local_date = ? GROUP BY kind')
      .all(date) as { kind: EntryKind; n: number; s: number }[];
    for (const k of kinds) totals[k.kind] = { count: k.n, sumFen: k.s };
    return { date, ok: terminals.every((t) => t.matches && t.suspicious.pending === 0), terminals, totals };
  }

  /** Offline sales held for review (or already reviewed), oldest sale first. */
  reviews(q: { status: ReviewStatus; readerId?: string | undefined; limit: number }): OfflineReviewItem[] {
    const rows = this.db
      .prepare(
        `${REVIEW_SELECT} WHERE x.review = ? AND (? IS NULL OR x.reader_id = ?) ORDER BY x.occurred_at, x.reader_id, x.seq LIMIT ?`,
      )
      .all(q.status, q.readerId ?? null, q.readerId ?? null, q.limit) as ReviewRow[];
    return rows.map(fromReviewRow);
  }

  /**
   * An admin's decision on an offline sale held for review. `accept` charges it now, at the sale's own time and
   * day, if the person's balance covers it (409 `insufficient_funds` if not: top up first, or reject); caps do not
   * apply, the food was handed over. `reject` writes it off: nothing is charged, the note says why.
   */
  review(readerId: string, seq: number, decision: 'accept' | 'reject', note: string, actor: string): OfflineReviewItem {
    const now = new Date(this.deps.clock.now()).toISOString();
    this.db
      .transaction(() => {
        const row = this.db
          .prepare(`SELECT person_id, amount_fen, occurred_at, created_at, suspicion, tap_id, review FROM wallet_terminal_txns WHERE reader_id = ? AND seq = ?`)
          .get(readerId, seq) as
          | { person_id: number | null; amount_fen: number; occurred_at: number; created_at: string; suspicion: string | null; tap_id: string; review: string | null }
          | undefined;
        if (!row || row.review === null) throw notFound(`offline sale ${seq} of terminal ${readerId}`);
        if (row.review !== 'pending') throw new GatewayError('conflict', `offline sale ${seq} of terminal ${readerId} was already ${row.review}`);
        let entryId: number | null = null;
        if (decision === 'accept') {
          if (row.person_id === null) throw new GatewayError('conflict', 'the card of this sale belongs to nobody; it can only be rejected');
          if (!Number.isSafeInteger(row.amount_fen) || row.amount_fen <= 0) throw new GatewayError('conflict', `the amount ${row.amount_fen} is not a sale; it can only be rejected`);
          entryId = this.insertEntry({
            personId: row.person_id,
            kind: 'debit',
            amountFen: -row.amount_fen,
            reason: `canteen (offline, reviewed): ${note}`,
            actor,
            readerId,
            terminalSeq: seq,
            tapId: row.tap_id,
            refundOf: null,
            // A terminal whose clock was wrong gave no usable time: the sale is booked when it arrived.
            occurredAt: row.suspicion === 'terminal_clock' ? Date.parse(row.created_at) : row.occurred_at,
          }).id;
        }
        this.db
          .prepare(
            // The day the log counts it on is the ledger entry's (they differ for a sale booked when it arrived).
            `UPDATE wallet_terminal_txns SET review = ?, reviewed_by = ?, reviewed_at = ?, review_note = ?, outcome = COALESCE(?, outcome), entry_id = ?,
               balance_fen = COALESCE((SELECT balance_fen FROM wallet_accounts WHERE person_id = wallet_terminal_txns.person_id), balance_fen),
               local_date = COALESCE((SELECT local_date FROM wallet_entries WHERE id = ?), local_date)
             WHERE reader_id = ? AND seq = ?`,
          )
          .run(decision === 'accept' ? 'accepted' : 'rejected', actor, now, note, decision === 'accept' ? 'applied' : null, entryId, entryId, readerId, seq);
      })
      .immediate();
    this.log.info({ readerId, seq, decision, actor }, 'wallet: offline sale reviewed');
    const pending = this.pendingReviews(readerId);
    const key = `wallet_offline_review:${readerId}`;
    this.deps.alerts?.refreshData(key, { pending });
    if (pending === 0) this.deps.alerts?.resolveByKey(key, actor, 'every offline sale reviewed');
    return this.reviewItem(readerId, seq);
  }

  private reviewItem(readerId: string, seq: number): OfflineReviewItem {
    const row = this.db
      .prepare(
        `${REVIEW_SELECT} WHERE x.reader_id = ? AND x.seq = ?`,
      )
      .get(readerId, seq) as ReviewRow;
    return fromReviewRow(row);
  }

  /** A day's canteen takings for the console. */
  sales(date: string): SalesSummary {
    const rows = this.db
      .prepare(`SELECT person_id, reader_id, amount_fen, occurred_at FROM wallet_entries WHERE local_date = ? AND kind = 'debit'`)
      .all(date) as { person_id: number; reader_id: string; amount_fen: number; occurred_at: number }[];
    const refundsFen = (
      this.db.prepare(`SELECT COALESCE(SUM(amount_fen), 0) AS s FROM wallet_entries WHERE local_date = ? AND kind = 'refund'`).get(date) as {
        s: number;
      }
    ).s;
    const byTerminal = new Map<string, { readerId: string; count: number; sumFen: number }>();
    const byHour = new Map<number, { hour: number; count: number; sumFen: number }>();
    const buyers = new Set<number>();
    let grossFen = 0;
    for (const r of rows) {
      const fen = -r.amount_fen;
      grossFen += fen;
      buyers.add(r.person_id);
      const t = byTerminal.get(r.reader_id) ?? { readerId: r.reader_id, count: 0, sumFen: 0 };
      t.count++;
      t.sumFen += fen;
      byTerminal.set(r.reader_id, t);
      const hour = Math.floor(localTime(r.occurred_at, this.deps.timezone).secondOfDay / 3600);
      const h = byHour.get(hour) ?? { hour, count: 0, sumFen: 0 };
      h.count++;
      h.sumFen += fen;
      byHour.set(hour, h);
    }
    return {
      date,
      count: rows.length,
      grossFen,
      refundsFen,
      netFen: grossFen - refundsFen,
      buyers: buyers.size,
      byTerminal: [...byTerminal.values()].sort((a, b) => a.readerId.localeCompare(b.readerId)),
      byHour: [...byHour.values()].sort((a, b) => a.hour - b.hour),
    };
  }

  today(): string {
    return localDate(this.deps.clock.now(), this.deps.timezone);
  }
}

function positiveFen(amountFen: number): void {
  if (!Number.isSafeInteger(amountFen) || amountFen <= 0) throw new GatewayError('bad_request', 'amountFen must be a positive integer');
}

/**
 * What the terminal log keeps of an amount: integer fen, or 0 for one that is not (yuan, text), so that the refusal
 * itself can be remembered and counted without a fraction of a fen entering any sum.
 */
function keptFen(amount: number): number {
  return Number.isSafeInteger(amount) ? amount : 0;
}

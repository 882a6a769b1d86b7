/**
 * The ledger itself: append-only integer-fen entries per person, each written in one transaction with the
 * cached balance, and the admin's top-ups, refunds and corrections. Debits from terminals (debits.ts, offline-sales.ts)
 * append through `insert`.
 */
import type { Clock } from '../core/clock.js';
import { GatewayError, notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Database } from '../storage/db.js';
import { localDate } from '../core/school-calendar.js';

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

/** An entry to append: the person, and the entry's fields but those the ledger fills in (id, school day, times). */
export type NewEntry = Omit<LedgerEntry, 'id' | 'localDate' | 'occurredAt' | 'createdAt'> & { personId: number; occurredAt: number };

/** What the ledger needs: its database, the time and the school's timezone (for the school day of an entry). */
export interface EntriesDeps {
  db: Database;
  clock: Clock;
  timezone: string;
  log: Logger;
}

export interface EntryRow {
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

export class LedgerEntries {
  private readonly db: Database;
  private readonly log: Logger;

  constructor(private readonly deps: EntriesDeps) {
    this.db = deps.db;
    this.log = deps.log;
  }

  /** Appends an entry and moves the cached balance; must run inside a transaction. */
  insert(e: NewEntry): { id: number; balance: number } {
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

  externalIdOf(personId: number): string | null {
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

  /** Admin credit. `logged: false` for the demo's opening balances: 420 identical lines before the banner. */
  topUp(externalId: string, amountFen: number, reason: string, actor: string, logged = true): { entry: LedgerEntry; balanceFen: number } {
    positiveFen(amountFen);
    return this.post(this.person(externalId).id, { kind: 'topup', amountFen, reason, actor, refundOf: null }, logged);
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
    logged = true,
  ): { entry: LedgerEntry; balanceFen: number } {
    return this.db
      .transaction(() => {
        const { id, balance } = this.insert({
          personId,
          ...e,
          readerId: null,
          terminalSeq: null,
          tapId: null,
          occurredAt: this.deps.clock.now(),
        });
        if (logged) this.log.info({ personId, kind: e.kind, amountFen: e.amountFen, actor: e.actor, entryId: id }, 'wallet entry');
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

  /** The person's debits on a school day, in fen (positive). */
  spentOn(personId: number, date: string): number {
    return (
      this.db
        .prepare(`SELECT COALESCE(-SUM(amount_fen), 0) AS spent FROM wallet_entries WHERE person_id = ? AND local_date = ? AND kind = 'debit'`)
        .get(personId, date) as { spent: number }
    ).spent;
  }
}

function positiveFen(amountFen: number): void {
  if (!Number.isSafeInteger(amountFen) || amountFen <= 0) throw new GatewayError('bad_request', 'amountFen must be a positive integer');
}

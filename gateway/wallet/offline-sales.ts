/**
 * Sales a terminal made while offline and uploaded later, and the admin's review of those the wallet could not
 * apply by itself (docs/wallet.md, "Offline terminals"). They share the terminal log, caps and duplicate
 * bookkeeping with online debits (debits.ts).
 */
import type { OfflineSale, OfflineSaleResult, OfflineSuspicion } from '../core/wallet-port.js';
import { GatewayError, notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Database } from '../storage/db.js';
import { localDate } from '../core/school-calendar.js';
import type { LedgerEntries } from './entries.js';
import { keptFen, type DebitsDeps, type TerminalDebits } from './debits.js';
import { fromReviewRow, REVIEW_SELECT, type OfflineReviewItem, type ReviewRow, type ReviewStatus } from './review.js';

export class OfflineSales {
  private readonly db: Database;
  private readonly log: Logger;

  constructor(
    private readonly deps: DebitsDeps,
    private readonly entries: LedgerEntries,
    private readonly terminal: TerminalDebits,
  ) {
    this.db = deps.db;
    this.log = deps.log;
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
          const prior = this.terminal.seenBefore(sale, now);
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
            sale.suspicion ?? (sale.personId === null ? 'unknown_card' : this.terminal.refusalFor({ personId: sale.personId, amountFen: sale.amountFen }, date));
          const amountKept = keptFen(sale.amountFen);
          const record = this.db.prepare(
            `INSERT INTO wallet_terminal_txns (reader_id, seq, person_id, amount_fen, outcome, entry_id, balance_fen, tap_id, local_date,
               created_at, offline, uid, occurred_at, suspicion, review) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
          );
          if (reason !== null || sale.personId === null) {
            const balance = sale.personId === null ? 0 : this.entries.balanceOf(sale.personId);
            record.run(sale.readerId, sale.seq, sale.personId, amountKept, 'suspicious', null, balance, sale.tapId, date, now, sale.uid, sale.at, reason, 'pending');
            return { seq: sale.seq, outcome: 'suspicious', reason: reason ?? 'unknown_card' };
          }
          const entry = this.terminal.bookSale({ ...sale, personId: sale.personId, occurredAt: sale.at }, 'canteen (offline)');
          record.run(sale.readerId, sale.seq, sale.personId, sale.amountFen, 'applied', entry.id, entry.balance, sale.tapId, date, now, sale.uid, sale.at, null, null);
          return { seq: sale.seq, outcome: 'applied', balance: entry.balance };
        }),
      )
      .immediate();

    for (const d of duplicates) this.terminal.reportDuplicate(d.sale, d.conflict);
    const held = results.filter((r) => r.outcome === 'suspicious');
    for (const r of results) if (r.outcome !== 'duplicate') this.terminal.count(r.outcome === 'applied' ? 'offline_applied' : 'offline_suspicious');
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

  private pendingReviews(readerId: string): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM wallet_terminal_txns WHERE reader_id = ? AND review = 'pending'`).get(readerId) as { n: number }).n;
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
          const sale = {
            personId: row.person_id,
            amountFen: row.amount_fen,
            readerId,
            seq,
            tapId: row.tap_id,
            // A terminal whose clock was wrong gave no usable time: the sale is booked when it arrived.
            occurredAt: row.suspicion === 'terminal_clock' ? Date.parse(row.created_at) : row.occurred_at,
          };
          entryId = this.terminal.bookSale(sale, `canteen (offline, reviewed): ${note}`, actor).id;
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
}

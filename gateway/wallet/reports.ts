/**
 * What the wallet reports about itself, never adjusting anything: the ledger check (cached balances against
 * entries, terminal log against ledger), the end-of-day reconciliation per terminal, and a day's takings.
 */
import type { Database } from '../storage/db.js';
import { localTime } from '../core/school-calendar.js';
import type { EntriesDeps, EntryKind, LedgerEntries } from './entries.js';
import type { DebitRefusal, TxnRow } from './debits.js';

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

export type { SalesSummary } from './sales-summary.js';
import type { SalesSummary } from './sales-summary.js';

export class WalletReports {
  private readonly db: Database;
  private lastCheck: CheckReport | undefined;

  constructor(
    private readonly deps: Pick<EntriesDeps, 'db' | 'clock' | 'timezone'>,
    private readonly entries: LedgerEntries,
  ) {
    this.db = deps.db;
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
        ).map((m) => ({ ...m, externalId: this.entries.externalIdOf(m.personId) }));
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
}

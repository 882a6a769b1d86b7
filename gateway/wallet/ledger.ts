/**
 * The canteen wallet: an append-only ledger of integer-fen entries per person. Every change of a balance is
 * an entry (top-up, debit, refund, correction) with its reason and actor, written in one transaction with
 * the cached balance; `check()` proves the cache equals the ledger.
 *
 * `Wallet` is the one object the rest of the gateway holds (the access domain's `WalletPort`, the routes); it
 * puts together parts that each do one thing: entries.ts (the ledger and admin postings), debits.ts (terminal
 * debits, caps, PIN, retries), offline-sales.ts (uploads from offline terminals and their review) and reports.ts
 * (check, reconciliation, takings).
 */
import type { OfflineSale, OfflineSaleResult, WalletPort } from '../core/wallet-port.js';
import { localDate } from '../core/school-calendar.js';
import { PinStore } from './pins.js';
import { LedgerEntries, type LedgerEntry, type WalletPerson } from './entries.js';
import { TerminalDebits, type DebitInput, type DebitOutcome, type DebitsDeps } from './debits.js';
import { OfflineSales } from './offline-sales.js';
import { WalletReports, type CheckReport, type Reconciliation, type SalesSummary } from './reports.js';
import type { OfflineReviewItem, ReviewStatus } from './review.js';

export type { EntryKind, LedgerEntry, WalletPerson } from './entries.js';
export type { DebitInput, DebitOutcome, DebitRefusal, WalletLimits } from './debits.js';
export type { CheckReport, Reconciliation, SalesSummary, TerminalReconciliation } from './reports.js';

export type WalletDeps = DebitsDeps;

export class Wallet implements WalletPort {
  readonly pins: PinStore;
  private readonly entries: LedgerEntries;
  private readonly terminal: TerminalDebits;
  private readonly offline: OfflineSales;
  private readonly reports: WalletReports;

  constructor(private readonly deps: WalletDeps) {
    this.pins = new PinStore(deps.db, deps.clock);
    this.entries = new LedgerEntries(deps);
    this.terminal = new TerminalDebits(deps, this.entries, this.pins);
    this.offline = new OfflineSales(deps, this.entries, this.terminal);
    this.reports = new WalletReports(deps, this.entries);
  }

  /**
   * WalletPort. The transaction has committed (and, with storage.synchronous=full, reached the disk) when
   * the promise resolves, so the access domain may tell the terminal "paid".
   */
  debit(input: DebitInput): Promise<DebitOutcome> {
    return this.terminal.debit(input);
  }

  /** `pinMatches`: the result of checking the typed PIN (undefined: none typed, none set, or not checked). */
  debitSync(input: DebitInput, pinMatches?: boolean): DebitOutcome {
    return this.terminal.debitSync(input, pinMatches);
  }

  /** WalletPort: sales a terminal made while offline (offline-sales.ts). */
  recordOffline(sales: readonly OfflineSale[]): OfflineSaleResult[] {
    return this.offline.recordOffline(sales);
  }

  /** Sets the card holder's PIN at the desk; a lock after wrong tries ends, and so does its alert. */
  setPin(personId: number, pin: string, by: string): Promise<void> {
    return this.terminal.setPin(personId, pin, by);
  }

  balanceOf(personId: number): number {
    return this.entries.balanceOf(personId);
  }

  findPerson(externalId: string): WalletPerson | undefined {
    return this.entries.findPerson(externalId);
  }

  person(externalId: string): WalletPerson {
    return this.entries.person(externalId);
  }

  topUp(externalId: string, amountFen: number, reason: string, actor: string, logged = true): { entry: LedgerEntry; balanceFen: number } {
    return this.entries.topUp(externalId, amountFen, reason, actor, logged);
  }

  refund(externalId: string, amountFen: number, reason: string, actor: string, entryId?: number): { entry: LedgerEntry; balanceFen: number } {
    return this.entries.refund(externalId, amountFen, reason, actor, entryId);
  }

  correct(externalId: string, amountFen: number, reason: string, actor: string): { entry: LedgerEntry; balanceFen: number } {
    return this.entries.correct(externalId, amountFen, reason, actor);
  }

  entry(id: number): LedgerEntry {
    return this.entries.entry(id);
  }

  history(personId: number, q: { limit: number; before?: number | undefined }): { items: LedgerEntry[]; nextBefore: number | null } {
    return this.entries.history(personId, q);
  }

  check(): CheckReport {
    return this.reports.check();
  }

  get lastCheckReport(): CheckReport | undefined {
    return this.reports.lastCheckReport;
  }

  reconciliation(date: string): Reconciliation {
    return this.reports.reconciliation(date);
  }

  reviews(q: { status: ReviewStatus; readerId?: string | undefined; limit: number }): OfflineReviewItem[] {
    return this.offline.reviews(q);
  }

  review(readerId: string, seq: number, decision: 'accept' | 'reject', note: string, actor: string): OfflineReviewItem {
    return this.offline.review(readerId, seq, decision, note, actor);
  }

  sales(date: string): SalesSummary {
    return this.reports.sales(date);
  }

  today(): string {
    return localDate(this.deps.clock.now(), this.deps.timezone);
  }
}

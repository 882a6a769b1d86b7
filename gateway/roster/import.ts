/**
 * Roster import: a school's CSV of students and staff (as Excel exports it) into persons and cards, in three
 * steps that keep the gates answering whatever the file:
 *
 * 1. read (parse.ts, on a worker thread: parse-thread.ts): decode UTF-8 or GB18030, find the columns, hand on the
 *    rows, refuse a file past `roster.maxRows` rows or `roster.maxColumns` columns;
 * 2. check (check.ts, reads only, in chunks between which the gates are served): each row against the school's
 *    rules, the database and the earlier rows of the file;
 * 3. write (apply.ts, in chunks of transactions): only when every row passed, and not on a dry run.
 *
 * Idempotent on the external id: a row updates its person, and re-importing a file changes nothing. A file with
 * any rejected row writes nothing; the report lists every accepted and every rejected row with its line number.
 */
import type { CardFormat } from '../core/card-number.js';
import type { EventBus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import type { Database } from '../storage/db.js';
import { applyPlan } from './apply.js';
import { RosterChecker } from './check.js';
import type { ParseLimits } from './parse.js';
import { parseInWorker } from './parse-thread.js';
import { RosterGuardianColumns } from '../guardians/roster-columns.js';
import type { RosterReport } from './report.js';

export type { AcceptedRow, RejectedRow, RosterReport } from './report.js';

export interface RosterOptions {
  db: Database;
  clock: Clock;
  cardFormat: CardFormat;
  /** Configured schedule group ids; a row naming another one is rejected. `default` is always accepted. */
  scheduleGroups: readonly string[];
  /** `roster.maxRows` and `roster.maxColumns`. */
  limits: ParseLimits;
  /** Validate and report without writing. */
  dryRun?: boolean;
  /** Where `card.changed` goes for each card issued, once written (the API's; the CLI has none). */
  bus?: EventBus;
  /** Who imported, for those events. */
  by?: string;
  /** Key that seals guardians' numbers (gateway/guardians/roster-columns.ts); guardian columns without one are refused. */
  guardianKey?: string | undefined;
}

export async function importRoster(bytes: Uint8Array, opts: RosterOptions): Promise<RosterReport> {
  const { outcome, rows } = await parseInWorker(bytes, opts.limits);
  const report: RosterReport = {
    committed: false, written: 0, encoding: outcome.encoding, cardFormat: opts.cardFormat, rows: 0, created: 0, updated: 0,
    unchanged: 0, cardsIssued: 0, accepted: [], rejected: [], errors: outcome.errors, ignoredColumns: outcome.ignoredColumns,
  };
  // Guardian columns (监护人, 监护人电话, …) are read by the guardians' own reader, not listed as ignored.
  const guardianColumns = new RosterGuardianColumns(opts.guardianKey);
  outcome.extra.forEach((key, i) => {
    const claim = guardianColumns.claim(key, i);
    if (claim === 'repeated') report.errors.push(`column ${outcome.ignoredColumns[i]} repeats another guardian column: keep one`);
    if (claim) report.ignoredColumns = report.ignoredColumns.filter((label) => label !== outcome.ignoredColumns[i]);
  });
  report.errors.push(...guardianColumns.problems());
  if (report.errors.length > 0) return report;

  const nowIso = new Date(opts.clock.now()).toISOString();
  const checker = new RosterChecker({ db: opts.db, cardFormat: opts.cardFormat, scheduleGroups: opts.scheduleGroups, guardianColumns }, new Set(outcome.fields));
  const { planned, rejected } = await checker.checkAll(rows);
  report.rows = rows.length;
  report.rejected = rejected;
  for (const p of planned) {
    report.accepted.push(p.accepted);
    report[p.accepted.action]++;
    if (p.card?.kind === 'issue') report.cardsIssued++;
  }
  if (rejected.length > 0) {
    report.errors.push(`${rejected.length} row(s) rejected: nothing was imported; fix them and import the file again`);
    return report;
  }
  if (opts.dryRun) return report;

  const applied = await applyPlan(planned, { db: opts.db, nowIso, now: () => opts.clock.now(), by: opts.by ?? 'roster-import', bus: opts.bus, guardianColumns });
  report.written = applied.written;
  if (applied.stopped) {
    const upTo = applied.written > 0 ? `the rows up to line ${planned[applied.written - 1]!.line} were imported` : 'no row was imported';
    report.errors.push(`line ${applied.stopped.line}: ${applied.stopped.reason}; ${upTo}, the rest not: import the file again to finish`);
  } else report.committed = true;
  return report;
}

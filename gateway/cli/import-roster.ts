/** `campus-gateway import-roster FILE.csv --card-format <hex|8h10d|reversed|6h8d|wg26>`: the school's roster into the gateway. */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { accessMigrations } from '../access/module.js';
import { CARD_FORMATS, isCardFormat } from '../core/card-number.js';
import { systemClock } from '../core/clock.js';
import { metaMigrations } from '../storage/meta.js';
import { guardianMigrations } from '../guardians/schema.js';
import { guardianKeyOf } from '../guardians/store.js';
import { importRoster, type RosterReport } from '../roster/import.js';
import { openDatabase } from '../storage/db.js';
import { commandConfig, configOption, demoOption, reportAndExit } from './common.js';

export interface ImportRosterOptions {
  cardFormat: string;
  config?: string;
  /** The demo school's config (its schedule groups), as `start --demo` runs with. */
  demo?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/** Imports the file and returns the report; exit code 0 when applied (or a clean dry run), 1 when rejected. */
export async function runImportRoster(file: string, opts: ImportRosterOptions): Promise<{ report: RosterReport; exitCode: number }> {
  if (!isCardFormat(opts.cardFormat)) throw new Error(`--card-format must be one of ${CARD_FORMATS.join(', ')}`);
  const config = commandConfig(opts);
  const size = statSync(file).size;
  if (size > config.roster.maxBytes) {
    throw new Error(`${file} has ${size} bytes; a roster file has at most ${config.roster.maxBytes} (roster.maxBytes)`);
  }
  const bytes = readFileSync(file);
  // The gateway may be running: SQLite (WAL, busy timeout) lets the import's transactions, 500 rows each (a few
  // milliseconds), in between the gateway's own batches.
  const db = openDatabase(join(config.dataDir, 'gateway.db'), [...metaMigrations, ...accessMigrations, ...guardianMigrations], {
    synchronous: config.storage.synchronous,
  });
  try {
    const report = await importRoster(bytes, {
      db,
      clock: systemClock,
      cardFormat: opts.cardFormat,
      scheduleGroups: config.access.scheduleGroups.map((g) => g.id),
      limits: config.roster,
      dryRun: opts.dryRun ?? false,
      guardianKey: guardianKeyOf(config),
    });
    const clean = report.rejected.length === 0 && report.errors.length === 0;
    return { report, exitCode: report.committed || (opts.dryRun && clean) ? 0 : 1 };
  } finally {
    db.close();
  }
}

export function formatReport(report: RosterReport, file: string): string {
  const lines: string[] = [];
  lines.push(`${file} (${report.encoding ?? 'encoding not readable'}, card format ${report.cardFormat}): ${report.rows} row(s)`);
  for (const e of report.errors) lines.push(`  error: ${e}`);
  if (report.ignoredColumns.length > 0) lines.push(`  note: columns not read (no such field): ${report.ignoredColumns.join(', ')}`);
  for (const r of report.rejected) lines.push(`  line ${r.line}${r.externalId ? ` ${r.externalId}` : ''}: rejected: ${r.reason}`);
  for (const a of report.accepted) {
    if (a.card?.note) lines.push(`  line ${a.line} ${a.externalId}: note: ${a.card.note}`);
  }
  lines.push(
    report.committed
      ? `imported: ${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged, ${report.cardsIssued} card(s) issued`
      : 'nothing was imported',
  );
  return `${lines.join('\n')}\n`;
}

export function registerImportRoster(program: Command): void {
  program
    .command('import-roster')
    .description('import students and staff from a CSV roster (UTF-8 or GB18030, Chinese or English headers); all rows or none')
    .argument('<file>', 'the CSV file')
    .addOption(new Option('-f, --card-format <format>', 'how the card column is written').choices([...CARD_FORMATS]).makeOptionMandatory())
    .addOption(configOption())
    .addOption(demoOption())
    .option('--dry-run', 'check the file and print the report without writing')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, opts: ImportRosterOptions) => {
      try {
        const { report, exitCode } = await runImportRoster(file, opts);
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, file));
        process.exit(exitCode);
      } catch (err) {
        reportAndExit(err);
      }
    });
}

/** `campus-gateway backup` and `campus-gateway restore`: see docs/operations.md, "Backup and restore". */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Command } from 'commander';
import { allMigrations } from '../compose.js';
import { systemClock } from '../core/clock.js';
import { createBackup, type BackupProgress } from '../storage/backup.js';
import { backupDirOf } from '../operations/backup-schedule.js';
import { restoreBackup } from '../storage/restore.js';
import { codeSchemaVersion } from '../storage/upgrade-guard.js';
import { commandConfig, configOption, reportAndExit } from './common.js';

const KB = 1024;
const MB = 1_048_576;

/** "730 KB" below a megabyte: a new school's whole backup read "0.0 MB", as if it were empty. */
function sizeText(bytes: number): string {
  return bytes < MB ? `${Math.max(1, Math.round(bytes / KB))} KB` : `${(bytes / MB).toFixed(1)} MB`;
}

/** Progress on stderr: a line per tenth of each phase, so a journal or a pipe gets a few lines, not thousands. */
function progressPrinter(): (p: BackupProgress) => void {
  const shown = new Map<string, number>();
  return (p) => {
    const tenth = p.total > 0 ? Math.floor((p.done / p.total) * 10) : 10;
    if ((shown.get(p.phase) ?? -1) >= tenth) return;
    shown.set(p.phase, tenth);
    const what = p.phase === 'database' ? `${p.done}/${p.total} pages` : p.phase === 'files' ? `${p.done}/${p.total} files` : `${sizeText(p.done)}/${sizeText(p.total)}`;
    process.stderr.write(`${p.phase.padEnd(8)} ${String(tenth * 10).padStart(3)}%  ${what}\n`);
  };
}

export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('write a consistent backup (database, Node-RED files, config, snapshots) as one .tar.gz; safe while the gateway runs')
    .addOption(configOption())
    .option('--to <dir>', 'where to write it (default: backup.dir, or <dataDir>/backups)')
    .option('--no-snapshots', 'leave the camera snapshots out')
    .action(async (opts: { config?: string; to?: string; snapshots: boolean }) => {
      try {
        const config = commandConfig(opts);
        const file = join(config.dataDir, 'gateway.db');
        if (!existsSync(file)) throw new Error(`no database at ${file}: is the data directory (dataDir / CAMPUS_DATA_DIR) right?`);
        // A second connection to the running gateway's file: the online backup reads it between the gateway's writes.
        const db = new BetterSqlite3(file, { fileMustExist: true });
        db.pragma('busy_timeout = 5000');
        try {
          const result = await createBackup({
            db,
            separateConnection: true,
            dataDir: config.dataDir,
            toDir: resolve(opts.to ?? backupDirOf(config)),
            configFile: opts.config ?? process.env.CAMPUS_CONFIG,
            snapshots: opts.snapshots && config.backup.snapshots,
            school: config.school.id,
            kind: 'manual',
            now: systemClock.now(),
            onProgress: progressPrinter(),
          });
          const m = result.manifest;
          process.stdout.write(
            `${result.file}\n  ${sizeText(result.bytes)}, ${m.files.length} files, schema ${m.schemaVersion}, gateway ${m.gatewayVersion}` +
              `${m.snapshots ? '' : ', without snapshots'}\n` +
              `NOT in this backup; keep these safe yourself (/etc/campus-gateway/secrets.env):\n${m.notIncluded.map((k) => `  - ${k}`).join('\n')}\n`,
          );
        } finally {
          db.close();
        }
      } catch (err) {
        reportAndExit(err);
      }
    });

  program
    .command('restore')
    .description('restore a backup into an empty data directory (the gateway must not be running on it)')
    .argument('<file>')
    .requiredOption('--data-dir <dir>', 'the data directory to restore into (must be empty)')
    .action(async (file: string, opts: { dataDir: string }) => {
      try {
        const result = await restoreBackup({
          file: resolve(file),
          dataDir: resolve(opts.dataDir),
          codeSchemaVersion: codeSchemaVersion(allMigrations()),
          onProgress: (step) => process.stderr.write(`${step}\n`),
        });
        const m = result.manifest;
        process.stdout.write(
          `restored ${m.kind} backup of ${m.school} from ${m.createdAt} (schema ${m.schemaVersion}, gateway ${m.gatewayVersion}) into ${resolve(opts.dataDir)}\n` +
            (result.configCopy ? `the backup's config is at ${result.configCopy}: compare it with the one in use\n` : '') +
            `set these as they were when the backup was taken, or what they protect stays unreadable:\n${m.notIncluded.map((k) => `  - ${k}`).join('\n')}\n` +
            'run as root? give the files to the service user: chown -R campus-gateway: <data dir>\n',
        );
      } catch (err) {
        if (err instanceof Error && 'code' in err) process.stderr.write(`campus-gateway: restore refused (${String((err as { code: unknown }).code)})\n`);
        reportAndExit(err);
      }
    });
}

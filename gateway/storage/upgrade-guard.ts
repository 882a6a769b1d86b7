/**
 * Before the gateway opens its database for good: a schema newer than this code is refused (an older gateway would
 * write rows the newer schema does not expect, and no down-migrations exist), and pending migrations run only after a
 * backup of the database as it was has succeeded, so a failed upgrade can be rolled back by restoring it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { createBackup, listBackups, type BackupResult } from './backup.js';
import type { Migration } from './db.js';

export interface SchemaState {
  /** Highest migration applied to the file (0 for a new or empty database). */
  current: number;
  /** Highest migration this code knows. */
  code: number;
  /** Migrations this code would apply. */
  pending: number[];
}

export function codeSchemaVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((v, m) => Math.max(v, m.version), 0);
}

export function schemaState(file: string, migrations: readonly Migration[]): SchemaState {
  const code = codeSchemaVersion(migrations);
  if (!existsSync(file)) return { current: 0, code, pending: migrations.map((m) => m.version) };
  const db = new BetterSqlite3(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    const applied = table
      ? new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version))
      : new Set<number>();
    return {
      current: Math.max(0, ...applied),
      code,
      pending: migrations.map((m) => m.version).filter((v) => !applied.has(v)).sort((a, b) => a - b),
    };
  } finally {
    db.close();
  }
}

export class UpgradeError extends Error {
  constructor(
    readonly code: 'SCHEMA_TOO_NEW' | 'BACKUP_FAILED',
    message: string,
  ) {
    super(message);
    this.name = 'UpgradeError';
  }
}

export interface GuardOptions {
  dataDir: string;
  migrations: readonly Migration[];
  backupDir: string;
  configFile?: string | undefined;
  school: string;
  now: number;
}

/** Throws UpgradeError, or returns the pre-migration backup it took (null when nothing was pending). */
export async function guardUpgrade(opts: GuardOptions): Promise<BackupResult | null> {
  const file = join(opts.dataDir, 'gateway.db');
  const state = schemaState(file, opts.migrations);
  if (state.current > state.code) {
    const latest = listBackups(opts.backupDir)[0];
    throw new UpgradeError(
      'SCHEMA_TOO_NEW',
      `the database ${file} has schema version ${state.current}, newer than this gateway's ${state.code}: it was upgraded by a ` +
        'newer gateway. Run that version again, or restore a backup taken before the upgrade' +
        (latest ? ` (latest: ${latest})` : ` (none found in ${opts.backupDir})`) +
        ' into an empty data directory with `campus-gateway restore FILE --data-dir DIR`',
    );
  }
  if (state.current === 0 || state.pending.length === 0) return null;
  const db = new BetterSqlite3(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return await createBackup({
      db,
      separateConnection: true,
      dataDir: opts.dataDir,
      toDir: opts.backupDir,
      configFile: opts.configFile,
      snapshots: false,
      school: opts.school,
      kind: 'pre-migration',
      now: opts.now,
    });
  } catch (err) {
    throw new UpgradeError(
      'BACKUP_FAILED',
      `migrations ${state.pending.join(', ')} are pending and the backup before them failed, so they were not applied: ` +
        `${err instanceof Error ? err.message : String(err)}`,
    );
  } finally {
    db.close();
  }
}

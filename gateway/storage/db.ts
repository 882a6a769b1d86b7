import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { PRIVATE_DIR_MODE, privateFile, privateFileIfExists, type Tightened } from './private-files.js';

export type Database = BetterSqlite3.Database;
/** A prepared statement; its parameters and row type when given (as `db.prepare<P, R>` returns it). */
export type Statement<P extends unknown[] = unknown[], R = unknown> = BetterSqlite3.Statement<P, R>;

/**
 * A numbered schema change. Each module owns a range of numbers (see docs/storage.md) so that
 * modules can be developed apart; the gateway's schema version is the highest number applied.
 */
export interface Migration {
  version: number;
  name: string;
  up: string | ((db: Database) => void);
}

/** SQLite's page cache per connection, in KiB. */
const PAGE_CACHE_KIB = 8192;

export interface OpenOptions {
  synchronous?: 'full' | 'normal';
  /** Told about each file of the database that was readable by others and is now 0600 (for the log). */
  onTightened?: (t: Tightened) => void;
}

/**
 * Opens (creating it 0600 if need be) a database in WAL mode and applies migrations. SQLite gives the -wal and
 * -shm files it creates the database file's own mode, so creating the file 0600 before SQLite opens it keeps all
 * three private; ones an older version left looser are tightened here.
 */
export function openDatabase(file: string, migrations: readonly Migration[], opts: OpenOptions = {}): Database {
  const tightened: (Tightened | null)[] = [];
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
    tightened.push(privateFile(file));
  }
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  if (file !== ':memory:') tightened.push(privateFileIfExists(`${file}-wal`), privateFileIfExists(`${file}-shm`));
  for (const t of tightened) if (t) opts.onTightened?.(t);
  db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // 8 MiB of page cache, not better-sqlite3's 16: the kernel's page cache holds the file anyway, so a page SQLite
  // does not keep costs a read() of microseconds, while SQLite's cache, once filled (a city backlog's drain fills
  // it), stays resident for good (docs/operations.md, Memory).
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  migrate(db, migrations);
  return db;
}

export function migrate(db: Database, migrations: readonly Migration[]): number {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.version === sorted[i - 1]!.version) {
      throw new Error(`two migrations share version ${sorted[i]!.version}: ${sorted[i - 1]!.name}, ${sorted[i]!.name}`);
    }
  }
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of sorted) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      if (typeof m.up === 'string') db.exec(m.up);
      else m.up(db);
      record.run(m.version, m.name, new Date().toISOString());
    })();
  }
  return schemaVersion(db);
}

export function schemaVersion(db: Database): number {
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

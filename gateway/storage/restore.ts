/**
 * Restores a backup (backup.ts) into a data directory: only an empty one, never under a running gateway, and only
 * after every file matched its checksum, the database passed `PRAGMA integrity_check` and its schema is one this code
 * knows. The checksums catch a damaged or altered archive; they are not a signature (whoever can rewrite an archive can
 * rewrite its manifest), so keep backups where only school IT can write.
 */
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Unpack } from 'tar';
import { BackupError, DB_FILE, listFiles, MANIFEST, manifestSchema, sha256File, type BackupManifest } from './backup.js';
import { RestoreBudget, restoreLimits } from './restore-budget.js';
import { claimDataDir, dataDirHolder, PID_FILE, removeStaleWork, workName } from './data-lock.js';
import { RESERVE_FILE } from './disk-reserve.js';

/** A restore's staging folder (`.restore-<pid>@<host>~…`, storage/data-lock.ts) in the data directory, until it checks out. */
export const RESTORING = '.restore-';
import { privateDir, privateTree } from './private-files.js';

export interface RestoreOptions {
  file: string;
  dataDir: string;
  /** The highest migration this code knows: a backup from a newer gateway is refused. */
  codeSchemaVersion: number;
  /** At most this many bytes unpacked (a test's small disk); at most what the data directory's disk has free anyway. */
  maxBytes?: number;
  onProgress?: (step: string) => void;
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** Where the backup's config file was put, for the operator to compare with the one in use. */
  configCopy: string | null;
}

/** What restore may write into: nothing of a gateway's there yet (a pid file of a dead process, or the disk reserve, is fine). */
function refuseUnlessEmpty(dataDir: string): void {
  if (!existsSync(dataDir)) return;
  const present = readdirSync(dataDir).filter((n) => n !== PID_FILE && n !== RESERVE_FILE && !n.startsWith(RESTORING));
  if (present.length > 0) {
    throw new BackupError(
      'NOT_EMPTY',
      `${dataDir} is not empty (${present.slice(0, 5).join(', ')}): restore into an empty directory, or move this one aside first`,
    );
  }
}

async function verify(staging: string, codeSchemaVersion: number): Promise<BackupManifest> {
  let manifest: BackupManifest;
  try {
    manifest = manifestSchema.parse(JSON.parse(readFileSync(join(staging, MANIFEST), 'utf8')));
  } catch (err) {
    throw new BackupError('TAMPERED', `the archive has no valid ${MANIFEST}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  const present = listFiles(staging).filter((p) => p !== MANIFEST);
  const extra = present.filter((p) => !listed.has(p));
  if (extra.length) throw new BackupError('TAMPERED', `files not in the manifest: ${extra.slice(0, 5).join(', ')}`);
  for (const f of manifest.files) {
    const full = join(staging, f.path);
    if (!existsSync(full)) throw new BackupError('TAMPERED', `${f.path} is in the manifest but not in the archive`);
    if (statSync(full).size !== f.bytes || (await sha256File(full)) !== f.sha256) {
      throw new BackupError('TAMPERED', `${f.path} does not match its checksum: the archive is damaged or was altered`);
    }
  }
  if (!listed.has(DB_FILE)) throw new BackupError('TAMPERED', `the archive has no ${DB_FILE}`);

  const db = new BetterSqlite3(join(staging, DB_FILE), { readonly: true, fileMustExist: true });
  try {
    const check = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
    if (check.length !== 1 || check[0] !== 'ok') throw new BackupError('CORRUPT', `the database fails integrity_check: ${check.slice(0, 3).join('; ')}`);
    const version = (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
    if (version !== manifest.schemaVersion) {
      throw new BackupError('TAMPERED', `the database has schema ${version}, the manifest says ${manifest.schemaVersion}`);
    }
    if (version > codeSchemaVersion) {
      throw new BackupError(
        'NEWER_SCHEMA',
        `the backup has schema version ${version} (gateway ${manifest.gatewayVersion}); this gateway knows up to ${codeSchemaVersion}: ` +
          'restore it with that version of the gateway or a newer one',
      );
    }
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw new BackupError('CORRUPT', `the database cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    db.close();
  }
  return manifest;
}

type EntryHeader = { size?: number | undefined; type?: string; mode?: number | undefined } | { size?: number | undefined };

/**
 * The archive unpacked as tar's `extract` does, with a filter that can stop it: an entry refused for its size ends
 * the read at once, where a filter that only skips entries would still inflate the rest of a gzip bomb.
 */
function unpack(
  file: string,
  o: Omit<NonNullable<ConstructorParameters<typeof Unpack>[0]>, 'filter'> & { filter: (path: string, entry: EntryHeader, stop: (err: Error) => void) => boolean },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const input = createReadStream(file);
    let failed: Error | null = null;
    let stopped: Error | null = null;
    let halting = false;
    // No more input; the parser ends where it is, so what it is writing settles before the promise does and the
    // staging folder is not removed under a write. Not inside the write that called the filter or raised the error:
    // the parser is still in that chunk.
    const halt = (): void => {
      if (halting) return;
      halting = true;
      input.unpipe(u);
      input.destroy();
      setImmediate(() => u.end());
    };
    const u: Unpack = new Unpack({
      ...o,
      filter: (path, entry) =>
        o.filter(path, entry as EntryHeader, (err) => {
          stopped ??= err;
          halt();
        }),
    });
    input.once('error', (err) => {
      failed ??= err;
      halt();
    });
    // The first error ends the read too: a parser that cannot read the archive (bytes that are not a tar, strict) says
    // so at each block and never reached 'end', and the restore waited forever with the data directory claimed.
    u.on('error', (err: Error) => {
      failed ??= err;
      halt();
    });
    const settle = (): void => {
      const err = stopped ?? failed;
      if (err) reject(err);
      else resolve();
    };
    u.once('end', settle);
    // A gzip cut short aborts the parser, which then writes nothing more and never reaches 'end'.
    u.once('abort', (err: Error) => {
      failed ??= err;
      settle();
    });
    input.pipe(u);
  });
}

export async function restoreBackup(opts: RestoreOptions): Promise<RestoreResult> {
  const step = opts.onProgress ?? (() => {});
  const holder = dataDirHolder(opts.dataDir);
  if (holder !== null) {
    throw new BackupError('GATEWAY_RUNNING', `a gateway (pid ${holder}) is running on ${opts.dataDir}; stop it first (sudo systemctl stop campus-gateway)`);
  }
  refuseUnlessEmpty(opts.dataDir);
  if (!existsSync(opts.file)) throw new BackupError('UNREADABLE', `${opts.file}: no such file`);
  privateDir(opts.dataDir);
  // The disk reserve is free space to a restore: the restore replaces what the directory holds, and the disk guard
  // makes the reserve again once the gateway runs. Counted as used, a tight disk refused (TOO_LARGE) a restore that
  // deleting it made room for; deleted before the claim below, whose pid mark a full disk would refuse.
  rmSync(join(opts.dataDir, RESERVE_FILE), { force: true });
  // Held while restoring, so a gateway started meanwhile refuses instead of opening a half-restored directory.
  const release = claimDataDir(opts.dataDir);
  removeStaleWork(opts.dataDir, RESTORING);
  const staging = mkdtempSync(join(opts.dataDir, workName(RESTORING)));
  try {
    step(`unpacking ${opts.file}`);
    const refused: string[] = [];
    const budget = new RestoreBudget(restoreLimits(opts.dataDir, opts.maxBytes));
    let tooLarge: BackupError | null = null;
    try {
      await unpack(opts.file, {
        cwd: staging,
        strict: true,
        // Owners and modes are the archive's say, and restore may run as root: a file owned by root with its set-user-id
        // bit would be a root shell for any local user. Files are the restoring user's, and made private below.
        preserveOwner: false,
        // Only plain files and folders: a link in a backup could point the restore at any file on the box. And only
        // as much as the disk can take: the header's size comes before the bytes, which are then never written.
        filter: (path, entry, stop) => {
          const type = 'type' in entry ? entry.type : 'File';
          const setId = ('mode' in entry ? (entry.mode ?? 0) : 0) & 0o7000;
          tooLarge ??= budget.admit(path, entry.size ?? 0, type);
          if (tooLarge) {
            stop(tooLarge);
            return false;
          }
          if ((type === 'File' || type === 'Directory') && !setId) return true;
          refused.push(setId ? `${path} (set-id or sticky mode 0${setId.toString(8)})` : `${path} (${type})`);
          return false;
        },
      });
    } catch (err) {
      if (tooLarge) throw tooLarge;
      throw new BackupError('UNREADABLE', `${opts.file} is not a readable backup archive: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (refused.length) throw new BackupError('TAMPERED', `entries that are not plain private files: ${refused.slice(0, 5).join(', ')}`);
    // The database, flows' credentials and pupils' pictures: the gateway's user's alone, from the moment they land.
    privateTree(staging);
    step('verifying checksums and the database');
    const manifest = await verify(staging, opts.codeSchemaVersion);

    step(`moving into ${opts.dataDir}`);
    renameSync(join(staging, DB_FILE), join(opts.dataDir, DB_FILE));
    for (const dir of ['node-red', 'snapshots', 'maps']) {
      if (existsSync(join(staging, dir))) renameSync(join(staging, dir), join(opts.dataDir, dir));
    }
    let configCopy: string | null = null;
    if (existsSync(join(staging, 'config'))) {
      renameSync(join(staging, 'config'), join(opts.dataDir, 'restored-config'));
      const [name] = readdirSync(join(opts.dataDir, 'restored-config'));
      configCopy = name ? join(opts.dataDir, 'restored-config', name) : null;
    }
    return { manifest, configCopy };
  } finally {
    rmSync(staging, { recursive: true, force: true });
    release();
  }
}

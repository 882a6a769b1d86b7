/**
 * One backup: a consistent copy of the database taken with SQLite's online backup API (pages copied a step at a time,
 * so a running gateway keeps answering taps and the copy is a single point in time), Node-RED's folder, the config file,
 * the campus maps' pictures, optionally the camera snapshots, and a manifest with a SHA-256 of each file, in one `.tar.gz`.
 *
 * Why the npm `tar` package and not the system `tar`: it refuses entries that climb out of the target (`..`, absolute
 * paths) and lets restore see every entry's type before it is written, so a hostile archive cannot plant a symlink;
 * it is the tar npm itself uses (already in the tree through node-red), with no dependence on the host's tools.
 */
import { createHash } from 'node:crypto';
import { createReadStream, copyFileSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { create } from 'tar';
import { z } from 'zod';
import { packageInfo } from '../core/version.js';
import type { Database } from './db.js';
import { removeStaleWork, workName } from './data-lock.js';
import { PRIVATE_DIR_MODE, privateFile, privateFileIfExists } from './private-files.js';

/** The staging folder's and the half-written archive's prefix (`.partial-<pid>@<host>~…`, storage/data-lock.ts): never taken for a backup. */
const PARTIAL = '.partial-';

export const BACKUP_FORMAT = 'campus-gateway-backup/1';
export const MANIFEST = 'manifest.json';
/** Pages copied per step through the gateway's own connection: ~1 MB, so its event loop runs between steps. */
const PAGES_PER_STEP = 256;
/** The most better-sqlite3 takes for a step: the rest of the database at once. */
const ALL_PAGES = 0x7fffffff;
export const DB_FILE = 'gateway.db';

export const backupKinds = ['manual', 'nightly', 'pre-migration'] as const;
export type BackupKind = (typeof backupKinds)[number];

export const manifestSchema = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  kind: z.enum(backupKinds),
  createdAt: z.string(),
  school: z.string(),
  gatewayVersion: z.string(),
  node: z.string(),
  schemaVersion: z.number().int().nonnegative(),
  snapshots: z.boolean(),
  files: z.array(z.strictObject({ path: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
  notIncluded: z.array(z.string()),
});
export type BackupManifest = z.infer<typeof manifestSchema>;

/**
 * Keys a backup does not carry, on purpose: a backup that holds the key beside what it encrypts protects nothing.
 * They live in /etc/campus-gateway/secrets.env (or the config) and must be kept safe apart from the backups.
 */
export const KEYS_NOT_IN_BACKUP = [
  'CAMPUS_FLOW_SECRET (nodeRed.credentialSecret): without it Node-RED cannot decrypt the flow credentials',
  'CAMPUS_CAMERA_KEY (cameras.secretKey): without it the stored camera passwords cannot be decrypted, nor guardians\' phone numbers unless CAMPUS_NOTIFY_KEY seals them',
  'CAMPUS_NOTIFY_KEY (notify.secretKey), when set: without it guardians\' phone numbers cannot be decrypted',
] as const;

/** Files in the data directory that never go into a backup. */
const LEFT_OUT = new Set(['.credential-secret', 'node_modules']);

export interface BackupProgress {
  phase: 'database' | 'files' | 'archive';
  done: number;
  total: number;
}

export interface BackupOptions {
  /** The database to copy: the running gateway's own connection, or one a command opened on the file. */
  db: Database;
  /**
   * `db` is not the connection the gateway writes through (a command's, the upgrade guard's). SQLite restarts an online
   * backup whenever another connection writes between its steps, and a busy gateway commits on every turn of its loop:
   * copied a few pages a step, such a backup starts over for as long as the taps come. It is copied in one step
   * instead, under one read transaction (in WAL mode the gateway keeps writing meanwhile); only this command's process
   * waits. Through the gateway's own connection its writes update the copy in place, so it goes a step at a time and
   * the gateway keeps answering between steps.
   */
  separateConnection?: boolean;
  dataDir: string;
  toDir: string;
  configFile?: string | undefined;
  snapshots: boolean;
  school: string;
  kind: BackupKind;
  now: number;
  onProgress?: (p: BackupProgress) => void;
}

export interface BackupResult {
  file: string;
  bytes: number;
  manifest: BackupManifest;
}

export class BackupError extends Error {
  constructor(
    readonly code: 'GATEWAY_RUNNING' | 'NOT_EMPTY' | 'TAMPERED' | 'NEWER_SCHEMA' | 'CORRUPT' | 'UNREADABLE' | 'TOO_LARGE' | 'FAILED',
    message: string,
  ) {
    super(message);
    this.name = 'BackupError';
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every regular file under dir, as POSIX paths relative to it. */
export function listFiles(dir: string, under = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(under, { withFileTypes: true })) {
    const full = join(under, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(dir, full));
    else out.push(relative(dir, full).split(sep).join('/'));
  }
  return out.sort();
}

/** 20261202T023000123Z: sorts by time, safe in a file name, distinct for two backups in one second. */
const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[-:.]/g, '');
const STAMP = /-(\d{8}T\d{9}Z)-/;

export function backupFileName(school: string, kind: BackupKind, now: number): string {
  return `campus-backup-${school}-${stamp(now)}-${kind}.tar.gz`;
}

/** Backups in a directory, newest first (names sort by time). */
export function listBackups(dir: string, kind?: BackupKind): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.startsWith('campus-backup-') && n.endsWith('.tar.gz') && (!kind || n.endsWith(`-${kind}.tar.gz`)))
    .sort((a, b) => ((STAMP.exec(a)?.[1] ?? '') < (STAMP.exec(b)?.[1] ?? '') ? 1 : -1))
    .map((n) => join(dir, n));
}

/** Deletes all but the newest `keep` backups of a kind; returns what it deleted. */
export function pruneBackups(dir: string, kind: BackupKind, keep: number): string[] {
  const old = listBackups(dir, kind).slice(keep);
  for (const f of old) rmSync(f, { force: true });
  return old;
}

/** Hard links where the filesystem allows (snapshots are written once and never changed), copies elsewhere. */
function linkOrCopyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (LEFT_OUT.has(entry.name) || entry.name.endsWith('.tmp')) continue;
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) linkOrCopyTree(src, dst);
    else if (entry.isFile()) {
      try {
        linkSync(src, dst);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // pruned meanwhile
        copyFileSync(src, dst);
      }
    }
  }
}

export async function createBackup(opts: BackupOptions): Promise<BackupResult> {
  const progress = opts.onProgress ?? (() => {});
  // The archive holds the database (names, guardians' sealed numbers, taps) and pupils' pictures: only the gateway's
  // user may read it, whatever the umask (it was 0644 in a 0755 folder). A folder that exists keeps its mode.
  mkdirSync(opts.toDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  // What a backup killed midway left (a copy of the database and pictures) goes before this one starts.
  removeStaleWork(opts.toDir, PARTIAL, /\.tar\.gz\.partial$/);
  const staging = mkdtempSync(join(opts.toDir, workName(PARTIAL)));
  const file = join(opts.toDir, backupFileName(opts.school, opts.kind, opts.now));
  const partial = join(opts.toDir, `${workName(PARTIAL)}${basename(file)}`);
  try {
    // 1. The database, online: what lands is one consistent moment (see `separateConnection` for the step size).
    const dbCopy = join(staging, DB_FILE);
    const { totalPages } = await opts.db.backup(dbCopy, {
      progress: ({ totalPages: total, remainingPages }) => {
        progress({ phase: 'database', done: total - remainingPages, total });
        return opts.separateConnection ? ALL_PAGES : PAGES_PER_STEP;
      },
    });
    progress({ phase: 'database', done: totalPages, total: totalPages });
    // SQLite makes the copy with the umask's mode, and the archive keeps it (restore sets its own, whatever it says).
    privateFileIfExists(dbCopy);
    const copy = new BetterSqlite3(dbCopy);
    let schemaVersion: number;
    try {
      copy.pragma('journal_mode = DELETE'); // one self-contained file
      schemaVersion = (copy.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
    } finally {
      copy.close();
    }

    // 2. Node-RED's folder (flows, their encrypted credentials, the runtime's settings) without the demo's key,
    // the config, the campus maps' pictures and the snapshots.
    const nodeRed = join(opts.dataDir, 'node-red');
    if (existsSync(nodeRed)) {
      cpSync(nodeRed, join(staging, 'node-red'), {
        recursive: true,
        filter: (src) => !LEFT_OUT.has(basename(src)),
      });
    }
    if (opts.configFile) {
      mkdirSync(join(staging, 'config'));
      copyFileSync(opts.configFile, join(staging, 'config', basename(opts.configFile)));
      privateFileIfExists(join(staging, 'config', basename(opts.configFile)));
    }
    // The campus maps' pictures always: an admin's work like the config, small, and useless apart from their rows.
    const maps = join(opts.dataDir, 'maps');
    if (existsSync(maps)) linkOrCopyTree(maps, join(staging, 'maps'));
    const snapshots = join(opts.dataDir, 'snapshots');
    if (opts.snapshots && existsSync(snapshots)) linkOrCopyTree(snapshots, join(staging, 'snapshots'));

    // 3. The manifest: what each file should be, checked again on restore.
    const paths = listFiles(staging);
    const files: BackupManifest['files'] = [];
    for (const [i, path] of paths.entries()) {
      const full = join(staging, path);
      files.push({ path, bytes: statSync(full).size, sha256: await sha256File(full) });
      progress({ phase: 'files', done: i + 1, total: paths.length });
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      kind: opts.kind,
      createdAt: new Date(opts.now).toISOString(),
      school: opts.school,
      gatewayVersion: packageInfo().version,
      node: process.version,
      schemaVersion,
      snapshots: opts.snapshots,
      files,
      notIncluded: [...KEYS_NOT_IN_BACKUP],
    };
    writeFileSync(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);

    // 4. One archive, renamed into place only when complete: a half-written backup never looks like a backup.
    const total = files.reduce((n, f) => n + f.bytes, 0);
    let done = 0;
    privateFile(partial); // tar truncates and writes it, keeping 0600
    await create(
      {
        gzip: true,
        file: partial,
        cwd: staging,
        portable: true,
        filter: (_path, stat) => {
          if ('isFile' in stat && stat.isFile()) {
            done += stat.size;
            progress({ phase: 'archive', done, total });
          }
          return true;
        },
      },
      [MANIFEST, ...readdirSync(staging).filter((n) => n !== MANIFEST)],
    );
    renameSync(partial, file);
    return { file, bytes: statSync(file).size, manifest };
  } catch (err) {
    try {
      unlinkSync(partial);
    } catch {
      // never written
    }
    throw err instanceof BackupError ? err : new BackupError('FAILED', `backup failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

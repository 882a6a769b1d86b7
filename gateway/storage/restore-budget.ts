/**
 * What a restore may unpack: the archive is read before anything in it is checked (its checksums are inside it), so
 * the sizes its headers declare are the only thing that can stop a small .tar.gz from filling the disk. A tar header
 * states its entry's size before the entry's bytes, so an entry that would pass the budget is refused before a byte
 * of it is written. What is counted is what the disk gives an entry, not only what its header says: whole blocks (a
 * 1-byte file takes one), and a block and an inode for each folder, those the archive names and those tar makes for a
 * path whose folders it does not name.
 */
import { statfsSync } from 'node:fs';
import { BackupError } from './backup.js';

/** Left free on the data directory's filesystem after a restore: the gateway, its logs and SQLite's WAL need room. */
export const RESTORE_RESERVE_BYTES = 256 * 1_048_576;
/** Files and folders at most: far more than a school's pictures, and bounded whatever the free inodes say. */
export const RESTORE_MAX_ENTRIES = 2_000_000;

export interface RestoreLimits {
  bytes: number;
  entries: number;
  /** The filesystem's block: the least a file with any bytes, or a folder, takes. */
  blockBytes: number;
}

/** What the filesystem holding `dir` has free, less the reserve; `maxBytes` lowers it further. */
export function restoreLimits(dir: string, maxBytes?: number): RestoreLimits {
  const fs = statfsSync(dir);
  const freeBytes = Math.max(0, fs.bavail * fs.bsize - RESTORE_RESERVE_BYTES);
  // Some filesystems report no inode count at all (0 files): then only the fixed cap applies.
  const freeInodes = fs.files > 0 ? Math.max(0, fs.ffree - 10_000) : RESTORE_MAX_ENTRIES;
  return {
    bytes: Math.min(freeBytes, maxBytes ?? Number.POSITIVE_INFINITY),
    entries: Math.min(freeInodes, RESTORE_MAX_ENTRIES),
    blockBytes: fs.bsize > 0 ? fs.bsize : 4096,
  };
}

/** Counts entries as their headers arrive; `admit` answers the refusal for the first one past the limits. */
export class RestoreBudget {
  private bytes = 0;
  private entries = 0;
  /**
   * The folders of the entry before: those an entry shares with it exist already. Only the last path, not every folder
   * seen (an archive could name millions): a tar lists a folder's entries together, and one that comes back to a folder
   * later is charged it again, which errs towards refusing.
   */
  private folders: string[] = [];

  constructor(private readonly limits: RestoreLimits) {}

  admit(path: string, size: number, type = 'File'): BackupError | null {
    const block = this.limits.blockBytes;
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    const folders = type === 'Directory' ? parts : parts.slice(0, -1);
    let shared = 0;
    while (shared < folders.length && shared < this.folders.length && folders[shared] === this.folders[shared]) shared++;
    this.folders = folders;
    const newFolders = folders.length - shared;
    this.entries += newFolders + (type === 'Directory' ? 0 : 1);
    const data = Number.isSafeInteger(size) && size > 0 ? Math.ceil(size / block) * block : 0;
    this.bytes += newFolders * block + data;
    if (this.entries > this.limits.entries) {
      return new BackupError('TOO_LARGE', `the archive has more than ${this.limits.entries} entries (at ${path}): refused before it filled the disk`);
    }
    if (this.bytes > this.limits.bytes) {
      return new BackupError(
        'TOO_LARGE',
        `the archive would unpack to more than ${mib(this.limits.bytes)} MiB (at ${path}, ${mib(size)} MiB), more than ` +
          `the data directory's disk can take and keep ${mib(RESTORE_RESERVE_BYTES)} MiB free: refused before it was written`,
      );
    }
    return null;
  }
}

const mib = (n: number): string => (n / 1_048_576).toFixed(n < 1_048_576 ? 2 : 0);

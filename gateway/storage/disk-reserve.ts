/**
 * `<dataDir>/disk-reserve`: space the gateway keeps so that it can start on a full disk.
 *
 * A running gateway rides out a full disk (the tap rows wait in memory, docs/operations.md "Disk"), but a stopped one
 * could not start on it: the pid mark and SQLite's `-wal` and `-shm` files (deleted when the last connection closes
 * cleanly) each need a block, and the start ended in `ENOSPC` or "disk I/O error". A box rebooted after a power cut with
 * its disk filled (its logs, another program) kept every gate shut until someone freed space by hand. So the gateway
 * holds a file of random bytes while the disk has room (zeros would hold nothing on a filesystem that compresses, as
 * btrfs and ZFS can, or that keeps runs of zeros sparse), and a start that finds the disk nearly full deletes it first; the disk
 * guard then makes room as it does while running, and the reserve is made again once the disk can spare it.
 */
import { randomFillSync } from 'node:crypto';
import { rmSync, statfsSync, statSync } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const RESERVE_FILE = 'disk-reserve';
const MiB = 1_048_576;
/**
 * Below this much free space a start deletes the reserve: the mark, the `-wal` and `-shm` files and the first minutes
 * of writes. Above it a start leaves the reserve alone, so a disk that is only low keeps it for the next start.
 */
export const START_MIN_FREE_BYTES = 16 * MiB;
/** Written in these pieces, each filled with fresh random bytes (~2 ms a MiB): a repeated piece could be deduplicated. */
const CHUNK = MiB;

/** What the filesystem holding `dir` has free for the gateway's user (statfs). */
export function freeBytesOf(dir: string): number {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
}

/**
 * At start, before anything is written: deletes the reserve when the disk has less than START_MIN_FREE_BYTES free.
 * Returns the bytes it held (0 when it stayed or there was none) and the free space found.
 */
export function releaseReserveIfFull(dataDir: string): { released: number; freeBefore: number } {
  const file = join(dataDir, RESERVE_FILE);
  let free: number;
  try {
    free = freeBytesOf(dataDir);
  } catch {
    return { released: 0, freeBefore: Number.NaN }; // no data directory yet: a first start, nothing to release
  }
  if (free >= START_MIN_FREE_BYTES) return { released: 0, freeBefore: free };
  const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  if (size > 0) rmSync(file, { force: true });
  return { released: size, freeBefore: free };
}

export type ReserveOutcome = 'kept' | 'made' | 'no_room' | 'off';

/**
 * Makes the reserve `bytes` long if it is shorter, in the background, when the disk can spare it: what is written must
 * leave at least as much free again, so the reserve never brings a low disk to full, and `spare` (the disk guard's
 * thresholds) must agree to the bytes still to write. `bytes` 0 deletes it.
 */
export async function keepReserve(dataDir: string, bytes: number, spare: (need: number) => boolean = () => true): Promise<ReserveOutcome> {
  const file = join(dataDir, RESERVE_FILE);
  if (bytes <= 0) {
    await rm(file, { force: true });
    return 'off';
  }
  const size = await stat(file).then((s) => s.size, () => 0);
  if (size >= bytes) return 'kept';
  const need = bytes - size;
  if (freeBytesOf(dataDir) - need < need || !spare(need)) return 'no_room';
  const fh = await open(file, 'a', 0o600);
  try {
    const piece = Buffer.allocUnsafe(CHUNK);
    for (let left = need; left > 0; left -= CHUNK) await fh.write(randomFillSync(piece), 0, Math.min(CHUNK, left));
    // On the disk, not only promised: a filesystem that allocates at write-back could still refuse the blocks.
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(file, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return 'no_room';
    throw err;
  }
  await fh.close();
  return 'made';
}

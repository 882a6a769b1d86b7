/**
 * A restore on a tight disk does not count `<dataDir>/disk-reserve` as used: the restore replaces the data directory,
 * and the disk guard makes the reserve again once the gateway runs. The built bin restores on a real, small
 * filesystem (a tmpfs in a mount namespace of this test's own, as disk-full-start.test.ts) whose free space, less the
 * 256 MiB restore keeps free, is less than the backup with the reserve there and more without it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { allMigrations } from '../../gateway/compose.js';
import { createBackup } from '../../gateway/storage/backup.js';
import { openDatabase } from '../../gateway/storage/db.js';
import { RESTORE_RESERVE_BYTES } from '../../gateway/storage/restore-budget.js';
import { BIN, requireBuilt } from '../helpers/bin.js';
import { tempDir } from '../helpers/gateway.js';
import { canMountTmpfs } from '../helpers/tmpfs.js';

const MiB = 1_048_576;
const work = tempDir('campus-restore-tight-');
const mnt = join(work, 'disk');
mkdirSync(mnt);
const canMount = canMountTmpfs(mnt);

// Inside the namespace: mount, a data directory holding only its reserve (what restore accepts besides a dead pid
// mark), restore into it, and list what is there after (the tmpfs goes with the namespace).
const SCRIPT = `
set -e
mount -t tmpfs -o size=$SIZE tmpfs "$MNT"
mkdir -m 0700 "$MNT/data"
head -c $RESERVE /dev/zero > "$MNT/data/disk-reserve"
code=0
"$NODE" "$BIN" restore "$FILE" --data-dir "$MNT/data" || code=$?
ls -A "$MNT/data" > "$WORK/after.ls"
exit $code
`;

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!canMount)('a restore on a tight disk (not applicable: this kernel refuses unprivileged mount namespaces)', () => {
  it('takes the disk reserve for free space: it deletes it and restores a backup that fits without it', async () => {
    requireBuilt();
    const dataDir = tempDir();
    const db = openDatabase(join(dataDir, 'gateway.db'), allMigrations());
    const backup = await createBackup({ db, dataDir, toDir: work, snapshots: false, school: 's1', kind: 'manual', now: Date.now() });
    db.close();
    // What the archive unpacks to, headers and all, and a MiB for blocks and folders: the disk has that much room
    // past restore's margin, and the reserve takes more than that.
    const needs = gunzipSync(readFileSync(backup.file)).length + MiB;
    const size = RESTORE_RESERVE_BYTES + needs + 2 * MiB;
    const reserve = needs + 8 * MiB;
    const child = spawn('unshare', ['-rm', 'sh', '-c', SCRIPT], {
      env: { ...process.env, MNT: mnt, WORK: work, NODE: process.execPath, BIN, FILE: backup.file, SIZE: `${size / 1024}k`, RESERVE: String(reserve) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    // Before, the reserve counted as used: `restore refused (TOO_LARGE)` on a disk that deleting it made room on.
    expect(out).toContain('restored manual backup of s1');
    expect(code).toBe(0);
    const after = readFileSync(join(work, 'after.ls'), 'utf8').split('\n');
    expect(after).toContain('gateway.db');
    expect(after).not.toContain('disk-reserve');
  });
});

/** A backup carries the campus maps' pictures even without snapshots, and a restore brings map, pins and picture back. */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allMigrations } from '../../gateway/compose.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { MapStore } from '../../gateway/maps/store.js';
import { createBackup } from '../../gateway/storage/backup.js';
import { openDatabase } from '../../gateway/storage/db.js';
import { restoreBackup } from '../../gateway/storage/restore.js';
import { codeSchemaVersion } from '../../gateway/storage/upgrade-guard.js';
import { tempDir } from '../helpers/gateway.js';
import { solidPng } from '../helpers/png.js';

const dirs: string[] = [];
const dir = (): string => {
  const d = tempDir('campus-maps-backup-');
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('campus maps in backups', () => {
  it('backs up and restores a map with its pins and picture, with snapshots left out', async () => {
    const dataDir = dir();
    const db = openDatabase(join(dataDir, 'gateway.db'), allMigrations());
    const store = new MapStore(db, join(dataDir, 'maps'), new ManualClock());
    const png = solidPng(16, 12);
    const map = store.create({ name: 'Dorm A, 2nd floor' });
    store.setImage(map.id, 'image/png', png);
    store.setPins(map.id, [{ kind: 'camera', deviceId: 'cam-main-gate', x: 0.1, y: 0.9 }]);
    const backup = await createBackup({ db, dataDir, toDir: dir(), snapshots: false, school: 's1', kind: 'manual', now: Date.now() });
    db.close();
    expect(backup.manifest.files.map((f) => f.path)).toContain(`maps/${map.id}-1.img`);

    const restored = dir();
    await restoreBackup({ file: backup.file, dataDir: restored, codeSchemaVersion: codeSchemaVersion(allMigrations()) });
    const db2 = openDatabase(join(restored, 'gateway.db'), allMigrations());
    try {
      const back = new MapStore(db2, join(restored, 'maps'), new ManualClock());
      expect(back.get(map.id).pins).toEqual([{ kind: 'camera', deviceId: 'cam-main-gate', x: 0.1, y: 0.9 }]);
      expect(readFileSync(back.image(map.id).file).equals(png)).toBe(true);
    } finally {
      db2.close();
    }
  });
});

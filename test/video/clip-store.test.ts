/** ClipStore alone, on a real SQLite file and a real ffmpeg, with a database that refuses the clip's row (a full disk). */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClipStore } from '../../gateway/cameras/live/clips.js';
import { allMigrations } from '../../gateway/compose.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { openDatabase } from '../../gateway/storage/db.js';
import { tempDir } from '../helpers/gateway.js';

describe('a clip whose row the database refuses', () => {
  it('leaves no video file behind', async () => {
    // The clip's file was written, then its row refused: the file stayed without a row until the next start's
    // reconcile, on the disk that was full; a gateway raising alert after alert filled it further with each clip.
    const dir = tempDir();
    const clock = new ManualClock(Date.UTC(2026, 8, 1, 2, 0, 0));
    const db = openDatabase(join(dir, 'gateway.db'), allMigrations());
    const clips = new ClipStore(db, join(dir, 'clips'), clock, { maxCount: 100, maxBytes: 1e9 }, 'ffmpeg');
    const segment = join(dir, 'segment.mp4');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=duration=1:size=64x48:rate=5', '-c:v', 'mpeg4', '-y', segment]);
    const start = clock.now() - 1000;
    db.exec("CREATE TRIGGER refuse_clips BEFORE INSERT ON camera_clips BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    const err = await clips.cut('cam-1', null, clock.now(), [{ file: segment, startAt: start, endAt: clock.now(), bytes: statSync(segment).size }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: 'database or disk is full' });
    expect(readdirSync(clips.dir)).toEqual([]);
    db.close();
  });
});

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatchWriter } from '../../gateway/storage/batch-writer.js';
import { Checkpointer, type CheckpointerOptions } from '../../gateway/storage/checkpointer.js';
import { openDatabase, type Database } from '../../gateway/storage/db.js';
import { tempDir } from '../helpers/gateway.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const walBytes = (file: string): number => {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
};

function open(): { file: string; db: Database; writer: BatchWriter } {
  const file = join(tempDir(), 'gateway.db');
  const db = openDatabase(file, [{ version: 1, name: 'rows', up: 'CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)' }], {
    synchronous: 'normal',
  });
  return { file, db, writer: new BatchWriter(db, { maxSize: 500, maxDelayMs: 0 }) };
}

const options = (file: string, extra: Partial<CheckpointerOptions> = {}): CheckpointerOptions => ({
  file, synchronous: 'normal', intervalMs: 50, walSizeLimitBytes: 256 * 1024, maxWalFrames: 100_000, ...extra,
});

/**
 * One ~2 KB row per commit, `commits` of them with a pause of `everyMs` between: the shape of a busy gate. A count,
 * not a duration, so a slow box writes the same log (how many commits a second it manages is bench/ingest's business).
 */
async function writeCommits(writer: BatchWriter, everyMs: number, commits: number): Promise<number> {
  const body = 'x'.repeat(2048);
  for (let n = 0; n < commits; n++) {
    await writer.write((d) => void d.prepare('INSERT INTO rows (body) VALUES (?)').run(body));
    await sleep(everyMs);
  }
  return commits;
}

describe('WAL checkpoints on a worker thread', () => {
  it('keeps the log bounded under steady writes with no checkpoint on the writing connection', async () => {
    const { file, db, writer } = open();
    const cp = new Checkpointer(db, options(file));
    cp.start();
    try {
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      let largest = 0;
      const watch = setInterval(() => (largest = Math.max(largest, walBytes(file))), 5);
      const rows = await writeCommits(writer, 1, 600);
      clearInterval(watch);
      await cp.checkpointNow();
      // 600 commits of 2 KB rows went through the log and the worker copied them all back. How often it got a
      // round in while they were written depends on how busy the box is (a shuffled CI run saw the log reach 4.8 MB
      // on a loaded 2-core box), so the bound is on what checkpoints leave behind: once caught up, the next commit
      // restarts the log and it is truncated to the configured limit.
      expect(cp.stats.framesCopied).toBeGreaterThanOrEqual(rows);
      expect(largest).toBeGreaterThan(0);
      await writer.write((d) => void d.prepare('INSERT INTO rows (body) VALUES (?)').run('after'));
      await cp.checkpointNow();
      expect(walBytes(file)).toBeLessThanOrEqual(256 * 1024);
      expect(cp.stats.assisting).toBe(false);
      expect(db.prepare('SELECT COUNT(*) AS n FROM rows').get()).toEqual({ n: rows + 1 });
    } finally {
      await cp.stop();
      writer.close();
      db.close();
    }
  });

  it('leaves an idle gateway asleep: no timer reports while nothing is written, one again after a commit', async () => {
    const { file, db, writer } = open();
    const timerReports: number[] = [];
    const cp = new Checkpointer(db, options(file, { onCheckpoint: (r) => r.id === 0 && timerReports.push(r.copied) }));
    cp.start();
    try {
      await writer.write((d) => void d.prepare('INSERT INTO rows (body) VALUES (?)').run('first'));
      await cp.checkpointNow(); // everything copied: from here on the database is idle
      const before = timerReports.length;
      await sleep(20 * 50); // twenty of the worker's 50 ms intervals with nothing committed
      expect(timerReports.length - before).toBeLessThanOrEqual(1); // at most the pass that saw the log copied
      const quiet = timerReports.length;
      await writer.write((d) => void d.prepare('INSERT INTO rows (body) VALUES (?)').run('second'));
      const deadline = Date.now() + 10_000;
      while (timerReports.length === quiet && Date.now() < deadline) await sleep(10);
      expect(timerReports.length).toBeGreaterThan(quiet); // the commit woke the timer's passes again
      await cp.checkpointNow(); // an explicit request is answered whether or not anything changed
      await cp.checkpointNow();
    } finally {
      await cp.stop();
      writer.close();
      db.close();
    }
  });

  it('has the writing connection help when the log passes its cap, and stop helping once it is small again', async () => {
    const { file, db, writer } = open();
    // A slow timer: the log passes 200 pages long before the worker's next round.
    const cp = new Checkpointer(db, options(file, { intervalMs: 60_000, maxWalFrames: 200 }));
    cp.start();
    try {
      // Past the 200-frame cap: each commit of a 2 KB row is at least one 4 KB frame.
      await writeCommits(writer, 0, 300);
      await cp.checkpointNow();
      expect(cp.stats.walFrames).toBeGreaterThan(200);
      expect(cp.stats.assisting).toBe(true);
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
      // Quiet now: the next checkpoint catches up, the next commit restarts the log.
      await cp.checkpointNow();
      await writer.write((d) => void d.prepare('INSERT INTO rows (body) VALUES (?)').run('after'));
      await cp.checkpointNow();
      expect(cp.stats.walFrames).toBeLessThanOrEqual(100);
      expect(cp.stats.assisting).toBe(false);
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    } finally {
      await cp.stop();
      writer.close();
      db.close();
    }
  });

  it('gives checkpointing back to the writing connection when the worker fails', async () => {
    const { db, writer } = open();
    const errors: Error[] = [];
    // A path the worker cannot open: it fails at once, as it would on a broken install.
    const cp = new Checkpointer(db, options(join(tempDir(), 'missing', 'dir', 'gateway.db'), { onError: (e) => errors.push(e) }));
    cp.start();
    for (let i = 0; i < 100 && cp.stats.running; i++) await sleep(20);
    expect(cp.stats.running).toBe(false);
    expect(errors).toHaveLength(1);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    // Writes go on, and asking for a checkpoint still works (on this connection).
    await writer.write((d) => void d.prepare('INSERT INTO rows (body) VALUES (?)').run('still'));
    await cp.checkpointNow();
    await cp.stop();
    writer.close();
    db.close();
  });
});

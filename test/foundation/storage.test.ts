import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatchWriter } from '../../gateway/storage/batch-writer.js';
import { ChunkedPruner } from '../../gateway/storage/chunked-prune.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { openDatabase, schemaVersion, type Migration } from '../../gateway/storage/db.js';
import { tempDir } from '../helpers/gateway.js';

const m = (version: number, up: string): Migration => ({ version, name: `m${version}`, up });

describe('storage', () => {
  it('applies numbered migrations once, in order, in WAL mode', () => {
    const file = join(tempDir(), 'gateway.db');
    const first = openDatabase(file, [m(2, 'CREATE TABLE b (x)'), m(1, 'CREATE TABLE a (x)')]);
    expect(first.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(schemaVersion(first)).toBe(2);
    first.close();
    // Reopening with one more applies only the new one (re-running 1 and 2 would fail: tables exist).
    const again = openDatabase(file, [m(1, 'CREATE TABLE a (x)'), m(2, 'CREATE TABLE b (x)'), m(10, 'CREATE TABLE c (x)')]);
    expect(schemaVersion(again)).toBe(10);
    again.close();
  });

  it('creates the database, its WAL and shared memory 0600 in a 0700 directory, and tightens looser ones', () => {
    const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);
    const dir = join(tempDir(), 'fresh', 'data');
    const file = join(dir, 'gateway.db');
    const db = openDatabase(file, [m(1, 'CREATE TABLE t (x)')]);
    db.prepare('INSERT INTO t VALUES (1)').run();
    expect(mode(dir)).toBe('700');
    for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(mode(f)).toBe('600');
    // What an older version left (the first connection still open, so the WAL stays): all readable by everyone.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) chmodSync(f, 0o644);
    const tightened: string[] = [];
    const again = openDatabase(file, [m(1, 'CREATE TABLE t (x)')], { onTightened: (t) => tightened.push(`${t.path} ${t.was}`) });
    again.prepare('INSERT INTO t VALUES (2)').run();
    for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(mode(f)).toBe('600');
    expect(tightened).toEqual([`${file} 0644`, `${file}-wal 0644`, `${file}-shm 0644`]);
    again.close();
    db.close();
  });

  it('refuses two migrations with one number', () => {
    expect(() => openDatabase(':memory:', [m(3, 'SELECT 1'), m(3, 'SELECT 2')])).toThrow(/share version 3/);
  });

  it('rolls back a failed migration entirely', () => {
    const file = join(tempDir(), 'gateway.db');
    expect(() => openDatabase(file, [m(1, 'CREATE TABLE a (x); CREATE TABLE a (y)')])).toThrow();
    const db = openDatabase(file, [m(1, 'CREATE TABLE a (x)')]);
    expect(schemaVersion(db)).toBe(1);
    db.close();
  });

  it('commits a batch in one transaction, and a bad row fails alone', async () => {
    const db = openDatabase(join(tempDir(), 'gateway.db'), [m(1, 'CREATE TABLE t (n INTEGER NOT NULL)')]);
    const writer = new BatchWriter(db, { maxSize: 100, maxDelayMs: 5 });
    const results = await Promise.allSettled([
      writer.write((d) => void d.prepare('INSERT INTO t VALUES (1)').run()),
      writer.write((d) => void d.prepare('INSERT INTO t VALUES (NULL)').run()),
      writer.write((d) => void d.prepare('INSERT INTO t VALUES (3)').run()),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(db.prepare('SELECT n FROM t ORDER BY n').all()).toEqual([{ n: 1 }, { n: 3 }]);
    expect(writer.stats).toMatchObject({ batches: 1, ops: 2, failedOps: 1 });
    writer.close();
    await expect(writer.write(() => {})).rejects.toThrow(/closed/);
    db.close();
  });

  it('a write alone in its batch commits, or fails alone and leaves the writer working', async () => {
    const db = openDatabase(join(tempDir(), 'gateway.db'), [m(1, 'CREATE TABLE t (n INTEGER NOT NULL)')]);
    const writer = new BatchWriter(db, { maxSize: 100, maxDelayMs: 0 });
    await writer.write((d) => void d.prepare('INSERT INTO t VALUES (1)').run());
    // Two rows, the second bad: nothing of this op may stay behind.
    await expect(
      writer.write((d) => {
        d.prepare('INSERT INTO t VALUES (2)').run();
        d.prepare('INSERT INTO t VALUES (NULL)').run();
      }),
    ).rejects.toThrow(/NOT NULL/);
    await writer.write((d) => void d.prepare('INSERT INTO t VALUES (3)').run());
    expect(db.prepare('SELECT n FROM t ORDER BY n').all()).toEqual([{ n: 1 }, { n: 3 }]);
    expect(writer.stats).toMatchObject({ batches: 3, ops: 2, failedOps: 1 });
    writer.close();
    db.close();
  });

  it('prunes by partition down an index that leads with it, with a turn of the event loop between statements', async () => {
    const db = openDatabase(join(tempDir(), 'gateway.db'), [m(1, 'CREATE TABLE r (series INTEGER NOT NULL, at INTEGER NOT NULL); CREATE INDEX r_series ON r (series, at)')]);
    const insert = db.prepare('INSERT INTO r (series, at) VALUES (?, ?)');
    db.transaction(() => {
      for (let series = 1; series <= 40; series++) for (let at = 0; at < 5; at++) insert.run(series, at);
    })();
    const pruned: number[] = [];
    const pruner = new ChunkedPruner(
      db,
      new ManualClock(0),
      [{ label: 'r', table: 'r', key: 'rowid', column: 'at', cutoff: () => 3, partitionBy: { column: 'series', values: () => Array.from({ length: 40 }, (_, i) => i + 1) } }],
      { chunkRows: 2, everyS: 3600 },
      (_label, n) => pruned.push(n),
    );
    // Taps and readings get their turns: something scheduled on the loop runs while a pass goes through 40 series.
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    expect(await pruner.prune()).toEqual({ r: 120 });
    ticking = false;
    // Each series: a full chunk of 2, then the last 1 (rows at 0, 1, 2 of 0..4): 80 statements, 79 turns between them.
    expect(pruned).toEqual(Array.from({ length: 40 }, () => [2, 1]).flat());
    expect(turns).toBeGreaterThanOrEqual(79);
    expect(db.prepare('SELECT series, COUNT(*) AS n, MIN(at) AS oldest FROM r GROUP BY series').all()).toEqual(
      Array.from({ length: 40 }, (_, i) => ({ series: i + 1, n: 2, oldest: 3 })),
    );
    db.close();
  });
});

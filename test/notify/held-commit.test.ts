/**
 * Guardian messages kept in memory (gateway/notify/held.ts) whose chunk's COMMIT the disk refuses, not an INSERT.
 *
 * A trigger cannot make a COMMIT fail, and max_page_count refuses at the INSERT. Here the kernel refuses the write:
 * this test's own process gets a lower file-size limit (RLIMIT_FSIZE, with util-linux's prlimit) while SQLite runs, so
 * the write() of the WAL frames at COMMIT fails (EFBIG; Node ignores SIGXFSZ), as ENOSPC fails it on a full disk. In
 * WAL mode with the gateway's 8 MiB page cache a transaction's INSERTs write nothing to a file: only its COMMIT does.
 * Every call under the lower limit is synchronous, so nothing else in this process writes meanwhile.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { allMigrations } from '../../gateway/compose.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { HeldMessages, type HeldMessage } from '../../gateway/notify/held.js';
import { Outbox } from '../../gateway/notify/outbox.js';
import { DEMO_STUDENT, seedDemoPeople } from '../../gateway/people/demo.js';
import { openDatabase, type Database } from '../../gateway/storage/db.js';
import { isStorageFailure } from '../../gateway/storage/deferred-writes.js';
import { tempDir } from '../helpers/gateway.js';

const START = Date.parse('2026-09-01T07:20:00+08:00');
/** Two chunks of held.ts's RETRY_CHUNK (500): the second waits behind the first. */
const MESSAGES = 600;

/** This process's soft RLIMIT_FSIZE in bytes, or 'unlimited'. */
function fileSizeLimit(): string {
  const r = spawnSync('prlimit', ['--pid', String(process.pid), '--fsize', '--raw', '--noheadings', '--output=SOFT'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`prlimit (util-linux) is needed to play a full disk: ${r.error?.message ?? r.stderr}`);
  return r.stdout.trim();
}

function setFileSizeLimit(soft: string): void {
  const r = spawnSync('prlimit', ['--pid', String(process.pid), `--fsize=${soft}:`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`prlimit --fsize=${soft}: ${r.stderr}`);
}

/** Runs `fn` (synchronous: nothing else of this process runs meanwhile) with no file writable past `bytes`. */
function withDiskFullPast<T>(bytes: number, fn: () => T): T {
  const before = fileSizeLimit();
  setFileSizeLimit(String(bytes));
  try {
    return fn();
  } finally {
    setFileSizeLimit(before);
  }
}

interface LogLine {
  msg: string;
  times?: number;
  held?: number;
  err?: { message: string; code?: string };
}

/** A school's database (the demo roster, 李明 with one consenting guardian) and a HeldMessages on it, as the gateway makes them. */
function school(): { db: Database; file: string; held: HeldMessages; metrics: Registry; log: LogLine[]; message: (i: number) => HeldMessage; queued: () => string[] } {
  const file = join(tempDir('campus-held-commit-'), 'gateway.db');
  const db = openDatabase(file, allMigrations());
  const iso = new Date(START).toISOString();
  seedDemoPeople(db, iso);
  const personId = (db.prepare('SELECT id FROM persons WHERE external_id = ?').get(DEMO_STUDENT.externalId) as { id: number }).id;
  db.prepare(
    `INSERT INTO guardians (person_id, position, name, relation, phone_enc, phone_masked, language, consent, consent_at, consent_by, created_at, updated_at)
     VALUES (?, 1, '李强', 'father', 'not-read-here', '138****8000', 'zh', 1, ?, 'admin', ?, ?)`,
  ).run(personId, iso, iso, iso);
  const clock = new ManualClock(START);
  const log: LogLine[] = [];
  const metrics = new Registry();
  const held = new HeldMessages({
    db, outbox: new Outbox(db), clock, metrics, max: 10_000,
    log: pino({ level: 'info' }, { write: (line: string) => void log.push(JSON.parse(line) as LogLine) }),
  });
  const message = (i: number): HeldMessage => ({
    event: 'test', personId, channel: 'wx', dedupKey: `commit-${String(i).padStart(3, '0')}`, data: { at: clock.now() }, now: clock.now(), expiresAt: clock.now() + 3_600_000,
  });
  // The delivery log's rows, in the order queued (the guardian's id appended to each key).
  const queued = (): string[] =>
    (db.prepare("SELECT dedup_key AS k FROM notify_outbox WHERE dedup_key LIKE 'commit-%' ORDER BY id").all() as { k: string }[]).map((r) => r.k.split(':')[0]!);
  return { db, file, held, metrics, log, message, queued };
}

const keys = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `commit-${String(from + i).padStart(3, '0')}`);

describe('guardian messages kept in memory whose chunk the disk refuses at COMMIT', () => {
  it('all wait, in order, the refusal counted once a try; once the disk takes writes each is queued exactly once', async () => {
    const { db, held, metrics, log, message, queued } = school();
    // An empty WAL: its first frame is past 4 KiB, so no COMMIT has room.
    db.pragma('wal_checkpoint(TRUNCATE)');
    const probe = db.prepare("INSERT INTO meta (key, value) VALUES ('held-commit-probe', 'x')");
    const tries = withDiskFullPast(4096, () => {
      // The disk refuses the COMMIT, not the INSERT: the INSERT ran, the COMMIT threw, nothing was written.
      let inserted = false;
      let refusal: unknown;
      try {
        db.transaction(() => {
          probe.run();
          inserted = true;
        })();
      } catch (err) {
        refusal = err;
      }
      // Held: the first refused (its own COMMIT), the others kept behind it without a try.
      const kept = Array.from({ length: MESSAGES }, (_, i) => held.enqueue(message(i)));
      // The gateway's tick tries once a second: 50 tries, a minute of full disk. Each one's first chunk of 500 INSERTs
      // runs and its COMMIT is refused.
      const retried = Array.from({ length: 50 }, () => held.retry());
      return { inserted, refusal, kept, retried };
    });
    expect(tries.inserted).toBe(true);
    expect(tries.refusal).toMatchObject({ code: expect.stringMatching(/^SQLITE_(FULL|IOERR)/) });
    expect(isStorageFailure(tries.refusal)).toBe(true);
    expect(db.prepare("SELECT * FROM meta WHERE key = 'held-commit-probe'").all()).toEqual([]);
    expect(tries.kept.every((k) => k)).toBe(true);
    expect(tries.retried).toEqual(Array<number>(50).fill(0));

    // Nothing in the delivery log, nothing lost: all 600 wait. The log says so twice, at the first refusal and the
    // 51st (held.ts logs every 50th), and each refused COMMIT counted once: the second line names 51 refusals.
    expect(queued()).toEqual([]);
    let counted = await metrics.metrics();
    expect(counted).toMatch(new RegExp(`campus_notify_held_messages ${MESSAGES}\\n`));
    expect(counted).toMatch(new RegExp(`campus_notify_held_messages_total\\{event="test"\\} ${MESSAGES}\\n`));
    expect(counted).not.toMatch(/campus_notify_held_queued_total\{/);
    expect(counted).not.toMatch(/campus_notify_held_dropped_total\{/);
    const refusals = log.filter((l) => l.msg.startsWith('guardian message not queued'));
    expect(refusals.map((l) => [l.times, l.held])).toEqual([[1, 0], [51, MESSAGES]]);
    expect(refusals[1]!.err).toMatchObject({ code: expect.stringMatching(/^SQLITE_(FULL|IOERR)/) });
    expect(log.filter((l) => !l.msg.startsWith('guardian message not queued'))).toEqual([]);

    // The disk takes writes again: both chunks queued, each message once, in the order kept.
    expect(held.retry()).toBe(MESSAGES);
    expect(queued()).toEqual(keys(0, MESSAGES));
    expect(held.retry()).toBe(0);
    expect(queued()).toHaveLength(MESSAGES);
    counted = await metrics.metrics();
    expect(counted).toMatch(/campus_notify_held_messages 0\n/);
    expect(counted).toMatch(new RegExp(`campus_notify_held_queued_total\\{event="test"\\} ${MESSAGES}\\n`));
    expect(counted).not.toMatch(/campus_notify_held_dropped_total\{/);
    db.close();
  });

  it('a chunk committed and the next refused at COMMIT: the first is queued, the second waits as a whole with the rest', async () => {
    const { db, file, held, metrics, message, queued } = school();
    db.pragma('wal_checkpoint(TRUNCATE)');
    const kept = withDiskFullPast(4096, () => Array.from({ length: MESSAGES }, (_, i) => held.enqueue(message(i))));
    expect(kept.every((k) => k)).toBe(true);
    expect(held.pending).toBe(MESSAGES);

    // Room on the disk for the first chunk's COMMIT and not one page more. How much it writes is measured on a copy of
    // the database: the same 500 rows queued in one transaction from the same empty WAL write the same frames.
    db.pragma('wal_checkpoint(TRUNCATE)');
    const copy = `${file}-copy`;
    copyFileSync(file, copy);
    const other = openDatabase(copy, allMigrations());
    const outbox = new Outbox(other);
    other.transaction(() => {
      for (let i = 0; i < 500; i++) outbox.enqueue(other, message(i));
    })();
    const firstChunk = statSync(`${copy}-wal`).size;
    other.close();
    expect(firstChunk).toBeGreaterThan(4096);

    const n = withDiskFullPast(firstChunk + 4096, () => held.retry());
    expect(n).toBe(500);
    expect(queued()).toEqual(keys(0, 500));
    let counted = await metrics.metrics();
    expect(counted).toMatch(/campus_notify_held_messages 100\n/);
    expect(counted).toMatch(/campus_notify_held_queued_total\{event="test"\} 500\n/);

    // More room: the rest, once each, after the first.
    expect(held.retry()).toBe(100);
    expect(queued()).toEqual(keys(0, MESSAGES));
    counted = await metrics.metrics();
    expect(counted).toMatch(/campus_notify_held_messages 0\n/);
    expect(counted).toMatch(new RegExp(`campus_notify_held_queued_total\\{event="test"\\} ${MESSAGES}\\n`));
    expect(counted).not.toMatch(/campus_notify_held_dropped_total\{/);
    db.close();
  });
});

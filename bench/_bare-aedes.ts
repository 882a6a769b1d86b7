/**
 * Bare Aedes (no logins, no ACLs, no limits) in its own process: the baseline the gateway's broker is compared with.
 * Nagle off, as the gateway's broker has it. Binds port 0 and sends `{ port }` over IPC.
 *
 * BENCH_COUNT_TOPIC set: an in-process subscription on that filter counts what the broker takes in, the way the
 * gateway's own handlers take readings (the broker's intake limit, no subscriber socket in between).
 * IPC: `{ id, cmd: 'count' }` → `{ id, count }`.
 *
 * BENCH_ANSWER_DB set (a file path): a second floor for the tap benchmarks, printed beside the first and judged by
 * nothing. A message on `bench/ask/<c>/<n>` is answered on `bench/echo/<c>/<n>` after a row for it is committed in
 * that SQLite file, the way the gateway answers a tap only once its row is durable: WAL, synchronous=NORMAL, the
 * commit at the end of the event-loop turn, a `WITHOUT ROWID` table keyed by a time-ordered text id with five indexes
 * of the shape the taps table has (gateway/access/taps-store.ts). No rules, no card lookup, no other rows, and the
 * table starts empty (the gateway's holds the seeded million) and is never checkpointed, so it is a floor, never more
 * than the gateway pays.
 */
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import Database from 'better-sqlite3';

const broker = await Aedes.createBroker();
const server = createServer((socket) => {
  socket.setNoDelay(true);
  broker.handle(socket);
});
let count = 0;
const topic = process.env.BENCH_COUNT_TOPIC;
if (topic) {
  await new Promise<void>((resolve) =>
    broker.subscribe(
      topic,
      (_packet, cb) => {
        count++;
        cb();
      },
      () => resolve(),
    ),
  );
}
const answerDb = process.env.BENCH_ANSWER_DB;
if (answerDb) await answerAfterCommit(answerDb);

async function answerAfterCommit(file: string): Promise<void> {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // No checkpoint at all (the log only grows, ~300 MB in a run): SQLite's own, inside the commit every 1,000 pages,
  // stalled the answers for milliseconds (p99 3.5 ms), which the gateway moves to a worker (storage/checkpointer.ts).
  db.pragma('wal_autocheckpoint = 0');
  db.exec(`CREATE TABLE rows (id TEXT PRIMARY KEY, at INTEGER NOT NULL, reader TEXT NOT NULL, body TEXT NOT NULL,
      point TEXT, person INTEGER) WITHOUT ROWID;
    CREATE INDEX rows_reader ON rows (reader, id);
    CREATE INDEX rows_point ON rows (point, id);
    CREATE INDEX rows_person ON rows (person, id);
    CREATE INDEX rows_at ON rows (at, id);
    CREATE INDEX rows_point_at ON rows (point, at, id);`);
  const insert = db.prepare('INSERT INTO rows (id, at, reader, body, point, person) VALUES (?, ?, ?, ?, ?, ?)');
  let queued: { topic: string; payload: Buffer }[] = [];
  let seq = 0;
  const commit = db.transaction((batch: typeof queued) => {
    for (const m of batch) {
      const at = Date.now();
      const reader = m.topic.slice(10, m.topic.lastIndexOf('/'));
      insert.run(`${at.toString(36).padStart(10, '0')}${(seq++).toString(36).padStart(16, '0')}`, at, reader, m.payload.toString(), 'gate', seq % 100_000);
    }
  });
  const flush = (): void => {
    const batch = queued;
    queued = [];
    commit(batch);
    for (const m of batch) broker.publish({ cmd: 'publish', topic: `bench/echo/${m.topic.slice(10)}`, payload: m.payload, qos: 1, retain: false, dup: false }, () => {});
  };
  await new Promise<void>((resolve) =>
    broker.subscribe(
      'bench/ask/#',
      (packet, cb) => {
        if (queued.push({ topic: packet.topic, payload: packet.payload as Buffer }) === 1) setImmediate(flush);
        cb();
      },
      () => resolve(),
    ),
  );
}

process.on('message', (m: { id: number; cmd: string }) => {
  if (m.cmd === 'count') process.send?.({ id: m.id, count });
  else process.send?.({ id: m.id, error: `unknown command ${m.cmd}` });
});
const stop = (): void => broker.close(() => server.close(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('disconnect', stop);
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));

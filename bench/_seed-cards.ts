/**
 * A school's people written straight into a stopped gateway's database (after its first start made the schema):
 * one student with one active card each, and stored taps spread over the last 30 days, each in one transaction.
 * For the tap benchmarks (bench/taps.ts, bench/taps-large.ts).
 */
import Database from 'better-sqlite3';
import { ulid } from 'ulid';

/** The card uid of the i-th seeded student. */
export const uidOf = (i: number): string => `B${i.toString(16).toUpperCase().padStart(7, '0')}`;

/** A tap's payload as the readers send it (the bare broker's floor relays the same): the `i`th tap of `nCards` cards. */
export const tapPayload =
  (nCards: number) =>
  (i: number): string =>
    JSON.stringify({ uid: uidOf(i % nCards), seq: i });

/**
 * Seeds `cards` students and `taps` stored taps at `readerIds` of `accessPoint`; returns the seconds it took. Each
 * student is in the schedule group `groupOf(i)` (the demo's `day` when not given).
 */
export function seedCardsAndTaps(
  dbFile: string,
  o: { cards: number; taps: number; readerIds: string[]; accessPoint: string; groupOf?: (i: number) => string },
): number {
  const t0 = performance.now();
  const db = new Database(dbFile);
  try {
    const now = Date.now();
    const iso = new Date(now).toISOString();
    // A large page cache for the bulk load only: the per-person index takes random inserts.
    db.pragma('cache_size = -524288');
    db.transaction(() => {
      const p = db.prepare(
        `INSERT INTO persons (id, external_id, name, role, grade, class, schedule_group, created_at, updated_at)
         VALUES (?, ?, ?, 'student', '初二', ?, ?, ?, ?)`,
      );
      const c = db.prepare(`INSERT INTO cards (uid, person_id, status, issued_at, updated_at) VALUES (?, ?, 'active', ?, ?)`);
      for (let i = 0; i < o.cards; i++) {
        p.run(1_000_000 + i, `B${i}`, `学生${i}`, `初二(${i % 20})班`, o.groupOf?.(i) ?? 'day', iso, iso);
        c.run(uidOf(i), 1_000_000 + i, iso, iso);
      }
    })();
    db.transaction(() => {
      const t = db.prepare(
        `INSERT INTO taps (id, at, reader_id, uid, seq, amount, access_point, direction, gate_id, person_id, granted, reason, balance)
         VALUES (?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, 1, 'ok', NULL)`,
      );
      const span = 30 * 86_400_000;
      for (let i = 0; i < o.taps; i++) {
        const at = now - span + Math.floor((i / o.taps) * span);
        const card = (i * 7919) % o.cards;
        const reader = o.readerIds[i % o.readerIds.length]!;
        t.run(ulid(at, Math.random), at, reader, uidOf(card), o.accessPoint, i % 2 === 0 ? 'in' : 'out', o.accessPoint, 1_000_000 + card);
      }
    })();
    // Start from a checkpointed WAL, as a gateway that has been running would.
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return (performance.now() - t0) / 1000;
}

/**
 * The tap benchmarks' school, laid over the demo school by `start --demo` (arrays replace, objects merge): one gate
 * `gate` with `n` readers `<gate>-<i>` alternating in and out, no debounce, no simulated sensors or cameras, no city.
 * `extra` is merged last (Node-RED, HTTP limits, storage modes).
 */
export function gateSchoolOverlay(dataDir: string, gate: string, n: number, driver: { type: 'mqtt'; secretHash?: string }, extra: Record<string, unknown> = {}) {
  const readers = Array.from({ length: n }, (_, i) => ({
    id: `${gate}-${i}`,
    accessPoint: gate,
    direction: i % 2 === 0 ? ('in' as const) : ('out' as const),
    debounceMs: 0,
    driver,
  }));
  return {
    dataDir,
    http: { host: '127.0.0.1' },
    mqtt: { host: '127.0.0.1' },
    log: { level: 'warn' },
    readers,
    access: { accessPoints: [{ id: gate, name: gate, kind: 'gate', gateId: gate }] },
    sensors: { sensors: [] },
    cameras: { cameras: [] },
    controllers: { devices: [] },
    cloud: { enabled: false },
    ...extra,
  };
}

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alertMigrations, AlertService } from '../../gateway/alerts/alerts.js';
import { EventBus } from '../../gateway/core/bus.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { metaMigrations } from '../../gateway/storage/meta.js';
import { peopleMigrations } from '../../gateway/people/store.js';
import { openDatabase, type Database } from '../../gateway/storage/db.js';
import { Wallet, walletMigrations } from '../../gateway/wallet/module.js';
import { tempDir } from '../helpers/gateway.js';
import { captureLog } from '../helpers/log-capture.js';

// 2026-09-01 12:00 in Shanghai (UTC+8).
const NOON = Date.UTC(2026, 8, 1, 4, 0, 0);

interface Fixture {
  dir: string;
  db: Database;
  wallet: Wallet;
  alerts: AlertService;
  clock: ManualClock;
  metrics: Registry;
  person(externalId: string): number;
}

function fixture(limits = { perTransactionCapFen: 5000, dailyCapFen: 20000 }, log = pino({ level: 'silent' })): Fixture {
  const dir = tempDir('campus-wallet-');
  const db = openDatabase(join(dir, 'gateway.db'), [...metaMigrations, ...alertMigrations, ...peopleMigrations, ...walletMigrations]);
  const clock = new ManualClock(NOON);
  const metrics = new Registry();
  const alerts = new AlertService(db, new EventBus(), clock, 300_000);
  const wallet = new Wallet({ db, clock, timezone: 'Asia/Shanghai', limits, log, metrics, alerts });
  const insert = db.prepare(
    `INSERT INTO persons (external_id, name, role, grade, class, schedule_group, created_at, updated_at)
     VALUES (?, ?, 'student', '初一', '初一(1)班', 'day', '2026-08-01T00:00:00Z', '2026-08-01T00:00:00Z')`,
  );
  return {
    dir,
    db,
    wallet,
    alerts,
    clock,
    metrics,
    person: (externalId) => Number(insert.run(externalId, `学生${externalId}`).lastInsertRowid),
  };
}

const debit = (f: Fixture, personId: number, seq: number, amountFen: number, readerId = 'pos-1', at = NOON) =>
  f.wallet.debit({ personId, readerId, seq, amountFen, at, tapId: `tap-${readerId}-${seq}` });

describe('wallet ledger', () => {
  let f: Fixture;
  beforeEach(() => {
    f = fixture();
  });
  afterEach(() => {
    f.db.close();
    rmSync(f.dir, { recursive: true, force: true });
  });

  it('keeps balances as the sum of integer-fen entries', async () => {
    const p = f.person('S1');
    f.wallet.topUp('S1', 5000, 'cash at the office', 'admin');
    expect(await debit(f, p, 1, 1250)).toEqual({ ok: true, balance: 3750, duplicate: false });
    const r = f.wallet.refund('S1', 250, 'cold rice', 'admin');
    expect(r.balanceFen).toBe(4000);
    expect(f.wallet.balanceOf(p)).toBe(4000);
    const h = f.wallet.history(p, { limit: 10 });
    expect(h.items.map((e) => [e.kind, e.amountFen])).toEqual([
      ['refund', 250],
      ['debit', -1250],
      ['topup', 5000],
    ]);
    expect(h.items[1]).toMatchObject({ readerId: 'pos-1', terminalSeq: 1, tapId: 'tap-pos-1-1', actor: 'reader:pos-1' });
    expect(h.items[2]).toMatchObject({ actor: 'admin', reason: 'cash at the office' });
    const check = f.wallet.check();
    expect(check).toMatchObject({ ok: true, persons: 1, entries: 3, ledgerTotalFen: 4000, mismatches: [] });
  });

  it('applies a repeated (reader, seq) once and answers the retry with the original outcome', async () => {
    const p = f.person('S1');
    f.wallet.topUp('S1', 5000, 'opening', 'admin');
    const first = await debit(f, p, 18, 1250);
    const again = await debit(f, p, 18, 1250);
    expect(first).toEqual({ ok: true, balance: 3750, duplicate: false });
    expect(again).toEqual({ ok: true, balance: 3750, duplicate: true });
    // Same seq on another terminal is another transaction.
    expect(await debit(f, p, 18, 1250, 'pos-2')).toEqual({ ok: true, balance: 2500, duplicate: false });
    expect(f.wallet.balanceOf(p)).toBe(2500);
    // A retry that comes after another payment shows the balance as it is now, not as it was after the first.
    expect(await debit(f, p, 18, 1250)).toEqual({ ok: true, balance: 2500, duplicate: true });
    const rec = f.wallet.reconciliation('2026-09-01');
    expect(rec.terminals.find((t) => t.readerId === 'pos-1')).toMatchObject({ count: 1, sumFen: 1250, duplicates: 2, matches: true });
    const metric = await f.metrics.getSingleMetricAsString('campus_wallet_duplicate_debits_total');
    expect(metric).toContain('campus_wallet_duplicate_debits_total{conflict="false"} 2');
  });

  it('applies each seq exactly once under concurrent debits', async () => {
    const a = f.person('S1');
    const b = f.person('S2');
    f.wallet.topUp('S1', 20000, 'opening', 'admin');
    f.wallet.topUp('S2', 20000, 'opening', 'admin');
    // 20 copies of the same transaction for S1, interleaved with 30 distinct ones for S2.
    const calls = [
      ...Array.from({ length: 20 }, () => debit(f, a, 500, 700, 'pos-1')),
      ...Array.from({ length: 30 }, (_, i) => debit(f, b, 1000 + i, 100, 'pos-2')),
      ...Array.from({ length: 20 }, () => debit(f, a, 500, 700, 'pos-1')),
    ];
    const outcomes = await Promise.all(calls);
    const s1 = outcomes.slice(0, 20).concat(outcomes.slice(50));
    expect(s1.filter((o) => o.ok && !o.duplicate)).toHaveLength(1);
    expect(s1.filter((o) => o.ok && o.duplicate)).toHaveLength(39);
    expect(outcomes.slice(20, 50).every((o) => o.ok && !o.duplicate)).toBe(true);
    expect(f.wallet.balanceOf(a)).toBe(19300);
    expect(f.wallet.balanceOf(b)).toBe(17000);
    const n = f.db.prepare(`SELECT COUNT(*) AS n FROM wallet_entries WHERE kind = 'debit'`).get() as { n: number };
    expect(n.n).toBe(31);
    expect(f.wallet.check().ok).toBe(true);
  });

  it('refuses invalid amounts, the per-transaction cap, the daily cap and insufficient funds', async () => {
    const p = f.person('S1');
    f.wallet.topUp('S1', 30000, 'opening', 'admin');
    expect(await debit(f, p, 1, 0)).toMatchObject({ ok: false, reason: 'invalid_amount' });
    expect(await debit(f, p, 2, -100)).toMatchObject({ ok: false, reason: 'invalid_amount' });
    expect(await debit(f, p, 3, 12.5)).toMatchObject({ ok: false, reason: 'invalid_amount' });
    expect(await debit(f, p, 4, Number.NaN)).toMatchObject({ ok: false, reason: 'invalid_amount' });
    expect(await debit(f, p, 5, 5001)).toEqual({ ok: false, reason: 'over_limit', balance: 30000 });
    expect(await debit(f, p, 6, 5000)).toMatchObject({ ok: true, balance: 25000 });
    // 4 × 5000 = 20000 reaches the daily cap exactly; one fen more is refused.
    for (let seq = 7; seq <= 9; seq++) expect((await debit(f, p, seq, 5000)).ok).toBe(true);
    expect(await debit(f, p, 10, 1)).toEqual({ ok: false, reason: 'over_daily_limit', balance: 10000 });
    // The next local day (00:30 in Shanghai is 16:30 UTC the day before) starts a new daily sum.
    const nextDay = Date.UTC(2026, 8, 1, 16, 30);
    expect(await debit(f, p, 11, 5000, 'pos-1', nextDay)).toMatchObject({ ok: true, balance: 5000 });
    expect(await debit(f, p, 12, 5000, 'pos-1', nextDay)).toMatchObject({ ok: true, balance: 0 });
    expect(await debit(f, p, 13, 1, 'pos-1', nextDay)).toEqual({ ok: false, reason: 'insufficient_funds', balance: 0 });
    expect(f.wallet.balanceOf(p)).toBe(0);
    const rec = f.wallet.reconciliation('2026-09-01');
    expect(rec.terminals[0]).toMatchObject({
      readerId: 'pos-1',
      count: 4,
      sumFen: 20000,
      refused: { invalid_amount: 4, over_limit: 1, over_daily_limit: 1 },
      matches: true,
    });
    expect(f.wallet.reconciliation('2026-09-02').terminals[0]).toMatchObject({ count: 2, sumFen: 10000, refused: { insufficient_funds: 1 } });
    expect(f.wallet.check().ok).toBe(true);
  });

  it('remembers a refusal, so a retry after a top-up gets the same answer and is not applied', async () => {
    const p = f.person('S1');
    expect(await debit(f, p, 7, 800)).toEqual({ ok: false, reason: 'insufficient_funds', balance: 0 });
    f.wallet.topUp('S1', 1000, 'parent paid', 'admin');
    expect(await debit(f, p, 7, 800)).toEqual({ ok: false, reason: 'insufficient_funds', balance: 0 });
    expect(f.wallet.balanceOf(p)).toBe(1000);
    expect(await debit(f, p, 8, 800)).toMatchObject({ ok: true, balance: 200 });
  });

  it('refuses a number reused with a different amount or card, charges nothing and raises an alert', async () => {
    const p = f.person('S1');
    const q = f.person('S2');
    f.wallet.topUp('S1', 5000, 'opening', 'admin');
    f.wallet.topUp('S2', 700, 'opening', 'admin');
    await debit(f, p, 30, 1000);
    expect(await debit(f, p, 30, 4000)).toEqual({ ok: false, reason: 'seq_conflict', balance: 4000 });
    // Another card under the same number: refused with its own balance, not the first payer's.
    expect(await debit(f, q, 30, 1000)).toEqual({ ok: false, reason: 'seq_conflict', balance: 700 });
    expect(f.wallet.balanceOf(p)).toBe(4000);
    expect(f.wallet.balanceOf(q)).toBe(700);
    const rec = f.wallet.reconciliation('2026-09-01');
    expect(rec.ok).toBe(false);
    expect(rec.terminals[0]).toMatchObject({ conflicts: 2, duplicates: 2, matches: false });
    expect(f.alerts.list({ limit: 10, type: 'wallet_seq_conflict' }).items).toHaveLength(1);
  });

  it('logs a terminal repeating a number with other amounts once in 10 s, however many times it does', async () => {
    const captured = captureLog();
    const g = fixture(undefined, captured.log);
    try {
      const p = g.person('S1');
      g.wallet.topUp('S1', 5000, 'opening', 'admin');
      await debit(g, p, 30, 100);
      // A terminal (or anyone holding its login) sending 500 conflicting retries wrote 500 warnings.
      for (let i = 0; i < 500; i++) expect(await debit(g, p, 30, 200 + i)).toMatchObject({ ok: false, reason: 'seq_conflict' });
      const lines = () => captured.text().split('\n').filter((l) => l.includes('came again with a different card or amount'));
      expect(lines()).toHaveLength(1);
      g.clock.advance(10_001);
      await debit(g, p, 30, 999);
      expect(lines()).toHaveLength(2);
      expect(lines()[1]).toContain('"suppressed":499');
      expect(g.wallet.balanceOf(p)).toBe(4900);
    } finally {
      g.db.close();
      rmSync(g.dir, { recursive: true, force: true });
    }
  });

  it('limits refunds of a debit to what it took', async () => {
    const p = f.person('S1');
    f.person('S2');
    f.wallet.topUp('S1', 5000, 'opening', 'admin');
    await debit(f, p, 1, 1500);
    const entryId = f.wallet.history(p, { limit: 1 }).items[0]!.id;
    expect(f.wallet.refund('S1', 1000, 'wrong dish', 'admin', entryId).balanceFen).toBe(4500);
    expect(() => f.wallet.refund('S1', 501, 'again', 'admin', entryId)).toThrow(/already refunded/);
    expect(() => f.wallet.refund('S2', 100, 'not theirs', 'admin', entryId)).toThrow(/not found/);
    const topupId = f.wallet.history(p, { limit: 10 }).items.at(-1)!.id;
    expect(() => f.wallet.refund('S1', 100, 'not a debit', 'admin', topupId)).toThrow(/not a debit/);
    expect(f.wallet.refund('S1', 500, 'rest', 'admin', entryId).balanceFen).toBe(5000);
    expect(() => f.wallet.correct('S1', -5001, 'too much', 'admin')).toThrow(/negative/);
    expect(f.wallet.correct('S1', -1, 'till error', 'admin').balanceFen).toBe(4999);
    expect(f.wallet.check().ok).toBe(true);
  });

  it('check() finds a cached balance that disagrees with the ledger', async () => {
    const p = f.person('S1');
    f.wallet.topUp('S1', 5000, 'opening', 'admin');
    f.db.prepare('UPDATE wallet_accounts SET balance_fen = 9999 WHERE person_id = ?').run(p);
    const report = f.wallet.check();
    expect(report.ok).toBe(false);
    expect(report.mismatches).toEqual([{ personId: p, externalId: 'S1', cachedFen: 9999, ledgerFen: 5000 }]);
  });

  it('sums a day of canteen sales by terminal and local hour', async () => {
    const a = f.person('S1');
    const b = f.person('S2');
    f.wallet.topUp('S1', 10000, 'opening', 'admin');
    f.wallet.topUp('S2', 10000, 'opening', 'admin');
    const at = (h: number, m: number) => Date.UTC(2026, 8, 1, h - 8, m);
    await debit(f, a, 1, 600, 'pos-1', at(7, 10));
    await debit(f, a, 2, 1250, 'pos-1', at(11, 45));
    await debit(f, b, 1, 1100, 'pos-2', at(11, 50));
    await debit(f, b, 2, 1100, 'pos-2', at(11, 50)); // seq 2 on pos-2: distinct transaction
    await debit(f, b, 2, 1100, 'pos-2', at(11, 50)); // duplicate: not a sale
    f.wallet.refund('S2', 300, 'short change', 'admin');
    const s = f.wallet.sales('2026-09-01');
    expect(s).toMatchObject({ count: 4, grossFen: 4050, refundsFen: 300, netFen: 3750, buyers: 2 });
    expect(s.byTerminal).toEqual([
      { readerId: 'pos-1', count: 2, sumFen: 1850 },
      { readerId: 'pos-2', count: 2, sumFen: 2200 },
    ]);
    expect(s.byHour).toEqual([
      { hour: 7, count: 1, sumFen: 600 },
      { hour: 11, count: 3, sumFen: 3450 },
    ]);
  });
});

describe('wallet upgrade', () => {
  it('keeps the terminal log, its duplicates and the ledger check through the offline-sales migration (22)', () => {
    const dir = tempDir('campus-wallet-upgrade-');
    try {
      const file = join(dir, 'gateway.db');
      const before = [...metaMigrations, ...alertMigrations, ...peopleMigrations, ...walletMigrations.filter((m) => m.version < 22)];
      let db = openDatabase(file, before);
      const log = pino({ level: 'silent' });
      const deps = { clock: new ManualClock(NOON), timezone: 'Asia/Shanghai', limits: { perTransactionCapFen: 5000, dailyCapFen: 20000 }, log };
      const id = Number(
        db.prepare(`INSERT INTO persons (external_id, name, role, schedule_group, created_at, updated_at) VALUES ('S1', '学生', 'student', 'day', '', '')`).run()
          .lastInsertRowid,
      );
      // What the wallet before migration 22 wrote for a top-up and one canteen debit.
      db.exec(`
        INSERT INTO wallet_entries (id, person_id, amount_fen, kind, reason, actor, local_date, occurred_at, created_at)
          VALUES (1, ${id}, 1000, 'topup', 'opening', 'admin', '2026-09-01', ${NOON}, '');
        INSERT INTO wallet_entries (id, person_id, amount_fen, kind, reason, actor, reader_id, terminal_seq, tap_id, local_date, occurred_at, created_at)
          VALUES (2, ${id}, -300, 'debit', 'canteen', 'reader:pos-1', 'pos-1', 7, 't7', '2026-09-01', ${NOON}, '');
        INSERT INTO wallet_accounts (person_id, balance_fen, updated_at) VALUES (${id}, 700, '');
        INSERT INTO wallet_terminal_txns (reader_id, seq, person_id, amount_fen, outcome, entry_id, balance_fen, tap_id, local_date, created_at)
          VALUES ('pos-1', 7, ${id}, 300, 'applied', 2, 700, 't7', '2026-09-01', '');`);
      db.close();

      db = openDatabase(file, [...metaMigrations, ...alertMigrations, ...peopleMigrations, ...walletMigrations]);
      const wallet = new Wallet({ ...deps, db, metrics: new Registry() });
      // The retry after the upgrade is still the same transaction: answered, not charged again.
      expect(wallet.debitSync({ personId: id, readerId: 'pos-1', seq: 7, amountFen: 300, at: NOON, tapId: 't7' })).toEqual({ ok: true, balance: 700, duplicate: true });
      expect(wallet.check().ok).toBe(true);
      expect(wallet.reconciliation('2026-09-01').terminals).toMatchObject([{ readerId: 'pos-1', count: 1, sumFen: 300, duplicates: 1, offline: { count: 0 } }]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * Offline canteen sales: a POS terminal that could not reach the gateway sold by itself and uploads the sales
 * later over MQTT. What the online rules allow is charged at the sale's own time; the rest is held as suspicious
 * for an admin to accept or reject; a second upload of the same batch charges nothing; reconciliation shows both.
 */
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { parseDeviceTime as saleTime } from '../../gateway/core/device-time.js';
import { nextMessage, startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface Answer {
  batch: string;
  accepted: boolean;
  error?: string;
  message?: string;
  results?: { seq: number; outcome: string; reason?: string; balance?: number; conflict?: boolean }[];
  summary?: Record<string, number>;
}
interface Review {
  readerId: string;
  seq: number;
  uid: string;
  person: { externalId: string } | null;
  amountFen: number;
  occurredAt: string;
  localDate: string;
  reason: string;
  status: string;
  note: string | null;
}

const schoolDate = (at: number): string => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(at);

describe('offline canteen sales', () => {
  let gw: TestGateway;
  let terminal: MqttClient;
  let admin: string;
  // Tuesday 2026-09-01 12:10 in Shanghai: every sale, review and reconciliation on one school day, whenever the suite
  // runs (a run crossing Shanghai midnight, 16:00 UTC, would otherwise book an accepted sale on the next day).
  let clock: ManualClock;
  // Just after start: after the demo reported card 0BADCAFE lost, so a sale with it is one the terminal should have refused.
  let soldAt = 0;

  // A fresh demo school per test: the ledger, the review queue and the day's counts are each test's own.
  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 8, 1, 4, 10, 0));
    gw = await startTestGateway({ clock });
    clock.advance(1_000);
    soldAt = clock.now();
    admin = await gw.login();
    terminal = await gw.mqttClient();
    await terminal.subscribeAsync('campus/readers/+/offline/result', { qos: 1 });
  });
  afterEach(() => gw.close());

  const upload = async (readerId: string, body: unknown): Promise<Answer> => {
    const answer = nextMessage(terminal, `campus/readers/${readerId}/offline/result`);
    await terminal.publishAsync(`campus/readers/${readerId}/offline`, JSON.stringify(body), { qos: 1 });
    return JSON.parse((await answer).payload.toString()) as Answer;
  };
  const get = async <T>(path: string): Promise<T> => {
    const res = await gw.api(path, { token: admin });
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };
  const balance = async (externalId: string): Promise<number> => (await get<{ balanceFen: number }>(`/api/v1/wallet/${externalId}`)).balanceFen;

  const batch = () => ({
    batch: 'pos1-0007',
    transactions: [
      { uid: '0A1B2C3D', seq: 501, amount: 1250, at: soldAt }, // fine: charged
      { uid: '0badcafe', seq: 502, amount: 800, at: new Date(soldAt).toISOString() }, // reported lost before the sale
      { uid: 'FFFFFFFF', seq: 503, amount: 600, at: soldAt }, // nobody's card
      { uid: '0A1B2C3D', seq: 504, amount: 9000, at: soldAt }, // over the per-transaction cap
      { uid: '0A1B2C3D', seq: 505, amount: 300, at: soldAt + 86_400_000 }, // the terminal's clock is a day ahead
    ],
  });

  /** The terminal's first batch, as the first test checks it: one sale charged, four held for review. */
  const uploadFirstBatch = async (): Promise<void> => {
    expect(await upload('demo-canteen-1', batch())).toMatchObject({ accepted: true, summary: { applied: 1, duplicate: 0, suspicious: 4 } });
    expect((await upload('demo-canteen-1', batch())).summary).toEqual({ applied: 0, duplicate: 5, suspicious: 0 });
  };

  it('charges what the online rules allow at the sale time, holds the rest, and answers only once it is stored', async () => {
    const before = await balance('S20250001');
    const answer = await upload('demo-canteen-1', batch());
    expect(answer).toMatchObject({ batch: 'pos1-0007', accepted: true, summary: { applied: 1, duplicate: 0, suspicious: 4 } });
    expect(answer.results).toEqual([
      { seq: 501, outcome: 'applied', balance: before - 1250 },
      { seq: 502, outcome: 'suspicious', reason: 'card_lost' },
      { seq: 503, outcome: 'suspicious', reason: 'unknown_card' },
      { seq: 504, outcome: 'suspicious', reason: 'over_limit' },
      { seq: 505, outcome: 'suspicious', reason: 'terminal_clock' },
    ]);
    expect(await balance('S20250001')).toBe(before - 1250);
    const history = await get<{ entries: { kind: string; amountFen: number; occurredAt: string; terminalSeq: number }[] }>('/api/v1/wallet/S20250001');
    expect(history.entries[0]).toMatchObject({ kind: 'debit', amountFen: -1250, terminalSeq: 501, occurredAt: new Date(soldAt).toISOString() });

    // The terminal did not hear the answer and sends the batch again: nothing is charged twice.
    const again = await upload('demo-canteen-1', batch());
    expect(again.summary).toEqual({ applied: 0, duplicate: 5, suspicious: 0 });
    expect(await balance('S20250001')).toBe(before - 1250);

    const alerts = await get<{ items: { type: string; data: { pending: number } }[] }>('/api/v1/alerts?status=open&type=wallet_offline_review');
    expect(alerts.items).toHaveLength(1);
    expect(alerts.items[0]!.data.pending).toBe(4);
  });

  it('shows the offline sales and the ones awaiting review in the day reconciliation', async () => {
    await uploadFirstBatch();
    const rec = await get<{ ok: boolean; terminals: { readerId: string; count: number; sumFen: number; matches: boolean; duplicates: number; offline: unknown; suspicious: unknown }[] }>(
      `/api/v1/wallet/reconciliation?date=${schoolDate(soldAt)}`,
    );
    const pos = rec.terminals.find((t) => t.readerId === 'demo-canteen-1')!;
    // The sale stamped a day ahead is counted on its own (wrong) day, its repeat too; this day holds the others.
    expect(pos).toMatchObject({ count: 1, sumFen: 1250, matches: true, duplicates: 4, offline: { count: 1, sumFen: 1250 } });
    expect(pos.suspicious).toEqual({ pending: 3, pendingFen: 800 + 600 + 9000, accepted: 0, rejected: 0 });
    expect(rec.ok).toBe(false);
  });

  it('lets an admin accept (charging at the sale time) or reject each held sale, and clears the alert when none is left', async () => {
    await uploadFirstBatch();
    const pending = (await get<{ items: Review[] }>('/api/v1/wallet/review')).items;
    expect(pending.map((r) => [r.seq, r.reason, r.person?.externalId ?? null])).toEqual([
      [502, 'card_lost', 'S20250002'],
      [503, 'unknown_card', null],
      [504, 'over_limit', 'S20250001'],
      [505, 'terminal_clock', 'S20250001'],
    ]);
    const decide = (seq: number, decision: 'accept' | 'reject', note = 'checked with the canteen') =>
      gw.api(`/api/v1/wallet/review/demo-canteen-1/${seq}`, { method: 'POST', token: admin, json: { decision, note } });

    // ¥90 is more than the student has left: the admin must top up first or reject.
    const tooMuch = await decide(504, 'accept');
    expect(tooMuch.status).toBe(409);
    expect(((await tooMuch.json()) as { error: { code: string } }).error.code).toBe('insufficient_funds');
    expect((await decide(503, 'accept')).status).toBe(409); // nobody to charge

    const wangBefore = await balance('S20250002');
    const accepted = await decide(502, 'accept', 'she had lent the card to her sister');
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({ status: 'accepted', reviewedBy: 'admin', note: 'she had lent the card to her sister' });
    expect(await balance('S20250002')).toBe(wangBefore - 800);
    expect((await decide(502, 'reject')).status).toBe(409); // decided once

    const openAlert = async () => (await get<{ items: { data: { pending: number } }[] }>('/api/v1/alerts?status=open&type=wallet_offline_review')).items;
    // The alert follows the review: three left of four.
    expect((await openAlert())[0]!.data.pending).toBe(3);
    for (const seq of [503, 504]) expect((await decide(seq, 'reject', 'written off')).status).toBe(200);
    // A sale stamped by a clock a day ahead is booked when it arrived, not on the wrong day.
    const clockSale = await decide(505, 'accept', 'the terminal clock was reset; the sale was real');
    expect(clockSale.status).toBe(200);
    const clockEntry = (await get<{ entries: { terminalSeq: number; occurredAt: string }[] }>('/api/v1/wallet/S20250001')).entries.find((e) => e.terminalSeq === 505)!;
    expect(Math.abs(Date.parse(clockEntry.occurredAt) - soldAt)).toBeLessThan(60_000);
    expect(await openAlert()).toHaveLength(0);
    expect((await get<{ items: Review[] }>('/api/v1/wallet/review')).items).toHaveLength(0);
    expect((await get<{ items: Review[] }>('/api/v1/wallet/review?status=rejected')).items.map((r) => r.seq)).toEqual([503, 504]);

    const rec = await get<{ ok: boolean; terminals: { readerId: string; count: number; sumFen: number; matches: boolean; suspicious: unknown }[] }>(
      `/api/v1/wallet/reconciliation?date=${schoolDate(soldAt)}`,
    );
    expect(rec.terminals.find((t) => t.readerId === 'demo-canteen-1')).toMatchObject({
      count: 3,
      sumFen: 1250 + 800 + 300,
      matches: true,
      suspicious: { pending: 0, pendingFen: 0, accepted: 2, rejected: 2 },
    });
    expect((await get<{ ok: boolean }>('/api/v1/wallet/check')).ok).toBe(true);
  });

  it('refuses an upload from a gate reader, and one it cannot read, saying why, and keeps serving', async () => {
    expect(await upload('demo-gate-in', { batch: 'g-1', transactions: [{ uid: '0A1B2C3D', seq: 1, amount: 100, at: soldAt }] })).toMatchObject({
      batch: 'g-1',
      accepted: false,
      error: 'not_a_canteen_terminal',
    });
    // A sale without its time cannot be placed on a day: the whole batch is refused, and the terminal told which field.
    const unreadable = await upload('demo-canteen-1', { batch: 'b', transactions: [{ uid: '0A1B2C3D', seq: 9, amount: 100 }] });
    expect(unreadable).toMatchObject({ batch: 'b', accepted: false, error: 'unreadable' });
    expect(unreadable.message).toContain('transactions.0.at');
    // A number that is no time at all (past year 9999) is unreadable too, not a storage failure the terminal retries for ever.
    const farOff = await upload('demo-canteen-1', { batch: 'c', transactions: [{ uid: '0A1B2C3D', seq: 10, amount: 100, at: soldAt }, { uid: '0A1B2C3D', seq: 11, amount: 100, at: 9e15 }] });
    expect(farOff).toMatchObject({ batch: 'c', accepted: false, error: 'unreadable' });
    expect(farOff.message).toContain('transactions.1.at');
    expect(await upload('demo-canteen-1', { transactions: [] })).toMatchObject({ batch: null, accepted: false, error: 'unreadable' });
    const text = await (await gw.api('/metrics')).text();
    expect(text).toMatch(/campus_reader_rejected_messages_total\{reason="bad_payload"\} [1-9]/);
    const ok = await upload('demo-canteen-1', { batch: 'pos1-0008', transactions: [{ uid: '0A1B2C3D', seq: 510, amount: 300, at: soldAt }] });
    expect(ok).toMatchObject({ accepted: true, summary: { applied: 1 } });
  });

  it('reads sale times as terminals print them: ISO 8601 with a zone in its usual forms, epoch seconds or ms', async () => {
    // All the same instant: 2026-11-24 12:05:00 in Shanghai, minus a minute per form so each is its own sale.
    const base = Date.UTC(2026, 10, 24, 4, 5, 0);
    const forms: [string | number, number][] = [
      ['2026-11-24T12:05:00+08:00', base],
      ['2026-11-24T12:04:00+0800', base - 60_000],
      ['2026-11-24 12:03:00+08', base - 120_000],
      ['20261124T040200z', base - 180_000],
      ['2026-11-24T04:01:00.250Z', base - 240_000 + 250],
      [(base - 300_000) / 1000, base - 300_000],
      [base - 360_000, base - 360_000],
    ];
    for (const [form, expected] of forms) expect(saleTime(form)).toBe(expected);
    expect(saleTime('2026-11-24T12:05:00')).toBeUndefined(); // no zone: whose 12:05?
    expect(saleTime('yesterday')).toBeUndefined();
  });

  it('holds a sale made while the card was reported lost, even when the card was found before the upload', async () => {
    const security = await gw.login('security');
    const before = clock.now() - 1;
    clock.advance(5);
    expect((await gw.api('/api/v1/cards/0A1B2C3D/lost', { method: 'POST', token: security, json: {} })).status).toBe(200);
    clock.advance(5);
    const whileLost = clock.now();
    clock.advance(5);
    expect((await gw.api('/api/v1/cards/0A1B2C3D/unblock', { method: 'POST', token: security, json: {} })).status).toBe(200);
    const answer = await upload('demo-canteen-1', {
      batch: 'pos1-0009',
      transactions: [
        { uid: '0A1B2C3D', seq: 520, amount: 300, at: before }, // before the report: the card was fine
        { uid: '0A1B2C3D', seq: 521, amount: 300, at: whileLost }, // whoever had the card then was not its owner
      ],
    });
    expect(answer.results).toEqual([
      expect.objectContaining({ seq: 520, outcome: 'applied' }),
      { seq: 521, outcome: 'suspicious', reason: 'card_lost' },
    ]);
  });

  it('holds sales numbered after an online tap but stamped before it arrived: the terminal clock went back', async () => {
    // An attacker review: 20 sales stamped over the previous days passed each day's cap, and sales stamped before a
    // card was reported lost passed the lost-card check, though the terminal had sold online in between.
    await terminal.subscribeAsync('campus/readers/demo-canteen-1/decision', { qos: 1 });
    const paid = nextMessage(terminal, 'campus/readers/demo-canteen-1/decision');
    clock.advance(3_600_000);
    await terminal.publishAsync('campus/readers/demo-canteen-1/tap', JSON.stringify({ uid: '0A1B2C3D', amount: 100, seq: 600 }), { qos: 1 });
    expect(JSON.parse((await paid).payload.toString())).toMatchObject({ granted: true });
    const before = await balance('S20250001');
    const answer = await upload('demo-canteen-1', {
      batch: 'pos1-0011',
      transactions: [
        { uid: '0A1B2C3D', seq: 601, amount: 300, at: soldAt }, // an hour before seq 600 reached the gateway
        { uid: '0A1B2C3D', seq: 602, amount: 300, at: soldAt - 86_400_000 }, // "yesterday", for yesterday's cap
        { uid: '0A1B2C3D', seq: 603, amount: 300, at: clock.now() + 60_000 }, // after it: a sale like any other
      ],
    });
    expect(answer.results).toEqual([
      { seq: 601, outcome: 'suspicious', reason: 'terminal_clock' },
      { seq: 602, outcome: 'suspicious', reason: 'terminal_clock' },
      expect.objectContaining({ seq: 603, outcome: 'applied' }),
    ]);
    expect(await balance('S20250001')).toBe(before - 300);
  });

  it('holds a sale the terminal made offline under a number the gateway had refused online', async () => {
    // Online: refused (over the per-transaction cap); the terminal never heard the answer and sold offline.
    const refused = nextMessage(terminal, 'campus/readers/demo-canteen-1/decision');
    await terminal.subscribeAsync('campus/readers/demo-canteen-1/decision', { qos: 1 });
    await terminal.publishAsync('campus/readers/demo-canteen-1/tap', JSON.stringify({ uid: '0A1B2C3D', amount: 6000, seq: 530 }), { qos: 1 });
    expect(JSON.parse((await refused).payload.toString())).toMatchObject({ granted: false, reason: 'over_limit' });
    const sale = { batch: 'pos1-0010', transactions: [{ uid: '0A1B2C3D', seq: 530, amount: 6000, at: clock.now() }] };
    expect((await upload('demo-canteen-1', sale)).results).toEqual([{ seq: 530, outcome: 'suspicious', reason: 'refused_online' }]);
    const held = (await get<{ items: Review[] }>('/api/v1/wallet/review')).items.find((r) => r.seq === 530);
    expect(held).toMatchObject({ reason: 'refused_online', status: 'pending', amountFen: 6000 });
    // Decided once: the same batch again changes nothing.
    const decide = await gw.api('/api/v1/wallet/review/demo-canteen-1/530', { method: 'POST', token: admin, json: { decision: 'reject', note: 'no meal that big' } });
    expect(decide.status).toBe(200);
    expect((await upload('demo-canteen-1', sale)).results).toEqual([{ seq: 530, outcome: 'duplicate', conflict: false }]);
    expect((await get<{ items: Review[] }>('/api/v1/wallet/review?status=rejected')).items.some((r) => r.seq === 530)).toBe(true);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { startTestGateway, nextMessage, waitFor, type TestGateway } from '../helpers/gateway.js';
import type { MqttClient } from 'mqtt';
import { captureLog } from '../helpers/log-capture.js';

let gw: TestGateway;
let admin: string;
let security: string;
let viewer: string;
let client: MqttClient;

interface Entry {
  id: number;
  kind: string;
  amountFen: number;
  amount: string;
  actor: string;
  reason: string | null;
  readerId: string | null;
  terminalSeq: number | null;
}
interface Account {
  person: { externalId: string; name: string };
  balanceFen: number;
  balance: string;
  entries: Entry[];
  nextBefore: number | null;
}

async function json<T>(res: Response, status = 200): Promise<T> {
  const body = await res.text();
  expect(res.status, body).toBe(status);
  return JSON.parse(body) as T;
}

const account = async (id: string, query = ''): Promise<Account> => json(await gw.api(`/api/v1/wallet/${id}${query}`, { token: admin }));

/** A POS terminal's payment over MQTT; the decision comes back on the reader's decision topic. */
async function posTap(seq: number, amount: number, uid = '0A1B2C3D', readerId = 'demo-canteen-1'): Promise<Record<string, unknown>> {
  const next = nextMessage(client, `campus/readers/${readerId}/decision`);
  await client.publishAsync(`campus/readers/${readerId}/tap`, JSON.stringify({ uid, amount, seq }), { qos: 1 });
  return JSON.parse((await next).payload.toString()) as Record<string, unknown>;
}

// Tuesday 2026-09-01 12:10 in Shanghai, lunch: the day's sales and reconciliation are this day's, whenever the suite
// runs (a run crossing Shanghai midnight, 16:00 UTC, would otherwise split a test's sales over two days).
const LUNCH = Date.UTC(2026, 8, 1, 4, 10, 0);

describe('wallet API on the demo school', () => {
  // A fresh demo school per test: the ledger, the terminal numbers and the day's counts are each test's own.
  beforeEach(async () => {
    gw = await startTestGateway({ demo: true, clock: new ManualClock(LUNCH) });
    [admin, security, viewer] = await Promise.all([gw.login('admin'), gw.login('security'), gw.login('viewer')]);
    client = await gw.mqttClient();
    await client.subscribeAsync('campus/readers/+/decision');
  });
  afterEach(async () => {
    await gw?.close();
  });

  it('seeds S20250001 with ¥50.00 from a demo top-up, and other students with their own balances', async () => {
    const a = await account('S20250001');
    expect(a.person.name).toBe('李明');
    const topups = a.entries.filter((e) => e.kind === 'topup');
    expect(topups).toEqual([expect.objectContaining({ amountFen: 5000, amount: '50.00', actor: 'demo' })]);
    const b = await account('S20250003');
    expect(b.balanceFen).toBeGreaterThan(0);
    const check = await json<{ ok: boolean; persons: number }>(await gw.api('/api/v1/wallet/check', { token: admin }));
    expect(check.ok).toBe(true);
    expect(check.persons).toBeGreaterThan(100);
  });

  it('debits a POS payment once when the terminal sends the same seq twice', async () => {
    const before = (await account('S20250001')).balanceFen;
    const first = await posTap(9001, 1250);
    const again = await posTap(9001, 1250);
    expect(first).toMatchObject({ granted: true, reason: 'ok', balance: before - 1250 });
    // Access may answer a quick retry from its own memory of the seq ('ok', the original answer) or pass it to
    // the wallet ('duplicate'); either way the reader sees the same balance and only one debit exists.
    expect(again).toMatchObject({ granted: true, balance: before - 1250 });
    expect(['ok', 'duplicate']).toContain(again.reason);
    const a = await account('S20250001');
    expect(a.entries.filter((e) => e.readerId === 'demo-canteen-1' && e.terminalSeq === 9001)).toHaveLength(1);
    const rec = await json<{ terminals: { readerId: string; count: number; sumFen: number; matches: boolean }[] }>(
      await gw.api('/api/v1/wallet/reconciliation', { token: admin }),
    );
    expect(rec.terminals.find((t) => t.readerId === 'demo-canteen-1')).toMatchObject({ count: 1, sumFen: 1250, matches: true });
  });

  it('refuses over the per-transaction cap and for insufficient funds, and tells the reader the balance', async () => {
    const before = (await account('S20250001')).balanceFen;
    expect(await posTap(9002, 5001)).toMatchObject({ granted: false, reason: 'over_limit', balance: before });
    // Another student, brought down to ¥1.00 by an admin correction, cannot pay ¥2.00.
    const { uid } = gw.ctx.db
      .prepare(`SELECT c.uid FROM cards c JOIN persons p ON p.id = c.person_id WHERE p.external_id = 'S20250003' AND c.status = 'active'`)
      .get() as { uid: string };
    const b = (await account('S20250003')).balanceFen;
    await json(await gw.api('/api/v1/wallet/S20250003/correction', { method: 'POST', token: admin, json: { amountFen: 100 - b, reason: 'test' } }), 201);
    expect(await posTap(9004, 200, uid)).toMatchObject({ granted: false, reason: 'insufficient_funds', balance: 100 });
    expect(await posTap(9005, 100, uid)).toMatchObject({ granted: true, reason: 'ok', balance: 0 });
    expect((await account('S20250003')).balanceFen).toBe(0);
  });

  it('remembers a refused bad amount under its number, and refuses that number for another card', async () => {
    const before = (await account('S20250001')).balanceFen;
    expect(await posTap(9020, 0)).toMatchObject({ granted: false, reason: 'invalid_amount' });
    // Yuan instead of fen: answered, not dropped, so the terminal is not left waiting.
    expect(await posTap(9019, 12.5)).toMatchObject({ granted: false, reason: 'invalid_amount' });
    // The terminal cannot reuse the number to charge after all.
    expect(await posTap(9020, 300)).toMatchObject({ granted: false, reason: 'seq_conflict', balance: before });
    expect(await posTap(9021, 500)).toMatchObject({ granted: true, reason: 'ok', balance: before - 500 });
    const other = gw.ctx.db
      .prepare(`SELECT c.uid FROM cards c JOIN persons p ON p.id = c.person_id WHERE p.external_id = 'S20250004' AND c.status = 'active'`)
      .get() as { uid: string };
    const otherBalance = (await account('S20250004')).balanceFen;
    // Another card under 9021: not "paid", and not S20250001's balance.
    expect(await posTap(9021, 500, other.uid)).toEqual(expect.objectContaining({ granted: false, reason: 'seq_conflict', balance: otherBalance }));
    expect((await account('S20250001')).balanceFen).toBe(before - 500);
    expect((await account('S20250004')).balanceFen).toBe(otherBalance);
    const rec = await json<{ terminals: { readerId: string; refused: Record<string, number>; conflicts: number }[] }>(
      await gw.api('/api/v1/wallet/reconciliation', { token: admin }),
    );
    expect(rec.terminals.find((t) => t.readerId === 'demo-canteen-1')).toMatchObject({ refused: { invalid_amount: 2 }, conflicts: 2 });
  });

  it('tops up and refunds by admin with a reason; security reads, viewers do not', async () => {
    const path = '/api/v1/wallet/S20250001';
    expect((await gw.api(path, { token: viewer })).status).toBe(403);
    expect((await gw.api(path, { token: security })).status).toBe(200);
    expect((await gw.api(`${path}/topup`, { method: 'POST', token: security, json: { amountFen: 100, reason: 'x' } })).status).toBe(403);
    expect((await gw.api(`${path}/topup`, { method: 'POST', token: admin, json: { amountFen: 12.5, reason: 'x' } })).status).toBe(400);
    expect((await gw.api(`${path}/topup`, { method: 'POST', token: admin, json: { amountFen: 100 } })).status).toBe(400);
    expect((await gw.api('/api/v1/wallet/NOBODY/topup', { method: 'POST', token: admin, json: { amountFen: 100, reason: 'x' } })).status).toBe(404);

    const before = (await account('S20250001')).balanceFen;
    const top = await json<{ balanceFen: number; entry: Entry }>(
      await gw.api(`${path}/topup`, { method: 'POST', token: admin, json: { amountFen: 10000, reason: '家长充值 parent paid' } }),
      201,
    );
    expect(top.balanceFen).toBe(before + 10000);
    expect(top.entry).toMatchObject({ kind: 'topup', actor: 'admin', reason: '家长充值 parent paid' });

    expect(await posTap(9001, 1250)).toMatchObject({ granted: true, reason: 'ok', balance: before + 10000 - 1250 });
    const debitEntry = (await account('S20250001')).entries.find((e) => e.terminalSeq === 9001)!;
    const refund = await json<{ balanceFen: number; entry: Entry }>(
      await gw.api(`${path}/refund`, { method: 'POST', token: admin, json: { amountFen: 1250, reason: 'wrong dish', entryId: debitEntry.id } }),
      201,
    );
    expect(refund.balanceFen).toBe(before + 10000);
    const twice = await gw.api(`${path}/refund`, { method: 'POST', token: admin, json: { amountFen: 1, reason: 'again', entryId: debitEntry.id } });
    expect(twice.status).toBe(409);

    const page1 = await account('S20250001', '?limit=2');
    expect(page1.entries.map((e) => e.kind)).toEqual(['refund', 'debit']);
    const page2 = await account('S20250001', `?limit=2&before=${page1.nextBefore}`);
    expect(page2.entries[0]!.id).toBeLessThan(page1.entries[1]!.id);
    expect(page2.entries[0]!.kind).toBe('topup');
    expect((await json<{ ok: boolean }>(await gw.api('/api/v1/wallet/check', { token: admin }))).ok).toBe(true);
  });

  it('summarises the day’s sales for the console', async () => {
    // Its own sale and refund.
    expect(await posTap(9030, 800)).toMatchObject({ granted: true, reason: 'ok' });
    const sale = (await account('S20250001')).entries.find((e) => e.terminalSeq === 9030)!;
    await json(await gw.api('/api/v1/wallet/S20250001/refund', { method: 'POST', token: admin, json: { amountFen: 800, reason: 'cold soup', entryId: sale.id } }), 201);
    const sales = await json<{ count: number; grossFen: number; refundsFen: number; byTerminal: { readerId: string }[] }>(
      await gw.api('/api/v1/wallet/sales', { token: admin }),
    );
    expect(sales.count).toBe(1);
    expect(sales.grossFen).toBe(800);
    expect(sales.refundsFen).toBe(800);
    expect(sales.byTerminal.map((t) => t.readerId)).toContain('demo-canteen-1');
    expect((await gw.api('/api/v1/wallet/reconciliation', { token: viewer })).status).toBe(403);
    const health = await waitFor(async () => (await gw.api('/healthz')).json() as Promise<{ components: Record<string, { ok: boolean }> }>);
    expect(health.components.wallet).toEqual({ ok: true, status: 'ok' });
  });
});

describe('the demo wallet seeding', () => {
  it('logs one summary line for the opening balances, while a top-up by a person is logged as always', async () => {
    // A school IT walkthrough: 420 identical "wallet entry" lines came before the start banner.
    const { log, text } = captureLog();
    const demo = await startTestGateway({ demo: true, clock: new ManualClock(LUNCH), log });
    try {
      const lines = (): { msg: string; seeded?: number; actor?: string }[] => text().trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
      expect(lines().filter((l) => l.msg === 'wallet entry')).toEqual([]);
      expect(lines().find((l) => l.msg === 'seeded demo wallet balances')?.seeded).toBeGreaterThan(100);
      const token = await demo.login('admin');
      expect((await demo.api('/api/v1/wallet/S20250001/topup', { method: 'POST', token, json: { amountFen: 100, reason: 'cash at the office' } })).status).toBe(201);
      expect(lines().filter((l) => l.msg === 'wallet entry').map((l) => l.actor)).toEqual(['admin']);
    } finally {
      await demo.close();
    }
  });
});

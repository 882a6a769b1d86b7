/**
 * A PIN above a cumulative amount (access.wallet.pinAboveDailyFen): asked for only when the day's debits would go
 * above it, locked after wrong tries with an alert, lifted by an admin, and never seen outside the wallet.
 */
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { nextMessage, startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';

interface Decision {
  granted: boolean;
  reason: string;
  balance?: number;
}

describe('wallet PIN above a daily amount', () => {
  let gw: TestGateway;
  let pos: MqttClient;
  let admin: string;
  const mirrored: string[] = [];

  // A fresh demo school per test on a fixed lunchtime (Tuesday 2026-09-01 12:10 in Shanghai): the day's amount, the
  // PIN and its lock are each test's own, and a run crossing Shanghai midnight does not start a new day half-way.
  beforeEach(async () => {
    mirrored.length = 0;
    gw = await startTestGateway({
      clock: new ManualClock(Date.UTC(2026, 8, 1, 4, 10, 0)),
      config: { access: { wallet: { pinAboveDailyFen: 2000, pinMaxAttempts: 3, pinLockMinutes: 30 } } },
    });
    admin = await gw.login();
    pos = await gw.mqttClient();
    await pos.subscribeAsync('campus/readers/demo-canteen-1/decision', { qos: 1 });
    const watcher = await gw.mqttClient();
    watcher.on('message', (_t, payload) => mirrored.push(payload.toString()));
    await watcher.subscribeAsync('campus/events/#');
    await watcher.subscribeAsync('campus/readers/+/tap');
  });
  afterEach(() => gw.close());

  const pay = async (seq: number, amount: number, pin?: string | number): Promise<Decision> => {
    const answer = nextMessage(pos, 'campus/readers/demo-canteen-1/decision');
    await pos.publishAsync('campus/readers/demo-canteen-1/tap', JSON.stringify({ uid: '0A1B2C3D', amount, seq, ...(pin ? { pin } : {}) }), { qos: 1 });
    return JSON.parse((await answer).payload.toString()) as Decision;
  };
  const setPin = (pin: string) => gw.api('/api/v1/wallet/S20250001/pin', { method: 'PUT', token: admin, json: { pin } });

  it('asks for the PIN only above the day amount, and takes the right one', async () => {
    expect((await setPin('12')).status).toBe(400);
    const set = await setPin('4321');
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ set: true, failures: 0, lockedUntil: null });
    // Kept as a hash only.
    const row = gw.ctx.db.prepare(`SELECT hash FROM wallet_pins p JOIN persons x ON x.id = p.person_id WHERE x.external_id = 'S20250001'`).get() as { hash: string };
    expect(row.hash.startsWith('scrypt$')).toBe(true);
    expect(row.hash).not.toContain('4321');

    expect(await pay(1, 1000)).toMatchObject({ granted: true, reason: 'ok', balance: 4000 }); // ¥10 of ¥20 today: no PIN
    expect(await pay(2, 1500)).toMatchObject({ granted: false, reason: 'pin_required', balance: 4000 });
    // The terminal asks the student and sends a new transaction with the PIN.
    expect(await pay(3, 1500, '4321')).toMatchObject({ granted: true, reason: 'ok', balance: 2500 });
  });

  it('locks paying with the PIN after three wrong tries, with an alert, until an admin sets it again', async () => {
    // ¥25 paid today, the last ¥15 with the PIN: over the day amount, so the next payment needs it.
    expect((await setPin('4321')).status).toBe(200);
    expect(await pay(1, 1000)).toMatchObject({ granted: true, balance: 4000 });
    expect(await pay(3, 1500, '4321')).toMatchObject({ granted: true, balance: 2500 });
    expect(await pay(10, 600, '0000')).toMatchObject({ granted: false, reason: 'pin_wrong', balance: 2500 });
    expect(await pay(11, 600, '1111')).toMatchObject({ granted: false, reason: 'pin_wrong' });
    expect(await pay(12, 600, '2222')).toMatchObject({ granted: false, reason: 'pin_locked' });
    expect(await pay(13, 600, '4321')).toMatchObject({ granted: false, reason: 'pin_locked', balance: 2500 });

    const alerts = (await (await gw.api('/api/v1/alerts?status=open&type=wallet_pin_locked', { token: admin })).json()) as {
      items: { data: { externalId: string } }[];
    };
    expect(alerts.items.map((a) => a.data.externalId)).toEqual(['S20250001']);
    const wallet = (await (await gw.api('/api/v1/wallet/S20250001', { token: admin })).json()) as { pin: { set: boolean; lockedUntil: string | null } };
    expect(wallet.pin.set).toBe(true);
    expect(wallet.pin.lockedUntil).not.toBeNull();

    expect((await setPin('5678')).status).toBe(200);
    const stillOpen = (await (await gw.api('/api/v1/alerts?status=open&type=wallet_pin_locked', { token: admin })).json()) as { items: unknown[] };
    expect(stillOpen.items).toHaveLength(0); // the lock is over, and so is its alert
    // A keypad that sends the PIN as a JSON number is read as its digits.
    expect(await pay(14, 600, 5678)).toMatchObject({ granted: true, reason: 'ok', balance: 1900 });
  });

  it('never lets the PIN out: not on the bus mirror, not to other subscribers of the tap topic', async () => {
    expect((await setPin('4321')).status).toBe(200);
    expect(await pay(1, 1000)).toMatchObject({ granted: true });
    expect(await pay(3, 1500, '4321')).toMatchObject({ granted: true });
    expect(await pay(10, 600, '0000')).toMatchObject({ granted: false, reason: 'pin_wrong' });
    // The key spelled with a JSON escape is the same key to JSON.parse, so the wallet reads the PIN: it is stripped too.
    const answer = nextMessage(pos, 'campus/readers/demo-canteen-1/decision');
    await pos.publishAsync('campus/readers/demo-canteen-1/tap', '{"uid":"0A1B2C3D","amount":600,"seq":11,"\\u0070in":"4321"}', { qos: 1 });
    expect(JSON.parse((await answer).payload.toString())).toMatchObject({ granted: true });
    // Barrier: the watcher has the last payment's mirrored decision, so everything before it has reached it too.
    await waitFor(() => mirrored.some((m) => m.includes('"seq":11') && m.includes('"granted"')));
    const taps = mirrored.filter((m) => m.includes('"uid":"0A1B2C3D"'));
    // The mirror's tap.received and tap.decided, and the taps as the terminal sent them, less the PIN.
    expect(taps.filter((m) => m.includes('"readerId"')).length).toBeGreaterThan(0);
    expect(taps.filter((m) => !m.includes('"readerId"')).length).toBeGreaterThan(0);
    for (const m of taps) {
      expect(m).not.toContain('"pin"');
      expect(m).not.toContain('u0070in');
      for (const digits of ['4321', '0000']) expect(m).not.toContain(`"${digits}"`);
    }
  });
});

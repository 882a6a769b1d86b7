/**
 * Tap decisions on a running demo gateway: taps go on the bus as the reader drivers put them there, the
 * answers are read by a real MQTT client on the decision topics, alerts and taps through the HTTP API.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { ManualClock } from '../../gateway/core/clock.js';
import { nextMessage, startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface Decision {
  granted: boolean;
  reason: string;
  tapId: string;
  person: { name: string; class: string | null } | null;
  balance?: number;
}

// Tuesday 2026-09-01 10:00 in Shanghai.
const TUE_10 = Date.UTC(2026, 8, 1, 2, 0, 0);
const HOUR = 3_600_000;

describe('access decisions on the demo school', () => {
  let gw: TestGateway;
  let client: MqttClient;
  let admin: string;
  let security: string;
  const clock = new ManualClock(TUE_10);

  beforeAll(async () => {
    gw = await startTestGateway({
      clock,
      config: {
        access: {
          calendar: { holidays: ['2026-10-01'], makeUpDays: ['2026-09-27'] },
          repeatedDenials: { count: 4, windowS: 60 },
        },
      },
    });
    client = await gw.mqttClient();
    await client.subscribeAsync(['campus/readers/+/decision', 'campus/gates/+/command'], { qos: 1 });
    admin = await gw.login('admin');
    security = await gw.login('security');
  });
  afterAll(async () => {
    await gw?.close();
  });
  // A test that moves the clock and fails half-way must not leave the next one at 22:30 with expired sessions.
  afterEach(() => clock.set(TUE_10));

  let staffUid = '';
  let securityUid = '';
  beforeAll(async () => {
    const res = await gw.api('/api/v1/people?role=staff&limit=10', { token: admin });
    const staff = ((await res.json()) as { items: { externalId: string; security: boolean; cards: { uid: string }[] }[] }).items;
    staffUid = staff.find((s) => !s.security)!.cards[0]!.uid;
    securityUid = staff.find((s) => s.security)!.cards[0]!.uid;
  });

  /** Puts a tap on the bus as a reader driver would and waits for the reader's answer on MQTT. */
  async function tap(readerId: string, uid: string, extra: { amount?: number; seq?: number } = {}): Promise<Decision> {
    const answer = nextMessage(client, `campus/readers/${readerId}/decision`);
    gw.ctx.bus.emit('tap.received', { readerId, uid, at: clock.now(), ...extra });
    return JSON.parse((await answer).payload.toString()) as Decision;
  }

  async function openAlerts(type: string): Promise<{ type: string; accessPoint: string | null; data: Record<string, unknown> }[]> {
    const res = await gw.api(`/api/v1/alerts?status=open&type=${type}`, { token: admin });
    return ((await res.json()) as { items: { type: string; accessPoint: string | null; data: Record<string, unknown> }[] }).items;
  }

  it('grants the demo student at the main gate, opens the gate and stores the tap', async () => {
    const command = nextMessage(client, 'campus/gates/main-gate/command');
    const d = await tap('demo-gate-in', '0A1B2C3D');
    expect(d).toMatchObject({ granted: true, reason: 'ok', person: { name: '李明', class: '初一(1)班' } });
    expect(JSON.parse((await command).payload.toString())).toMatchObject({ action: 'open', tapId: d.tapId, direction: 'in' });
    const taps = (await (await gw.api('/api/v1/taps?readerId=demo-gate-in', { token: admin })).json()) as {
      items: { id: string; granted: boolean; uid: string; person: { externalId: string } }[];
    };
    expect(taps.items[0]).toMatchObject({ id: d.tapId, granted: true, uid: '0A1B2C3D', person: { externalId: 'S20250001' } });
  });

  it('refuses the lost demo card and raises a card_lost_used alert at the access point', async () => {
    const d = await tap('demo-gate-in', '0BADCAFE');
    expect(d).toMatchObject({ granted: false, reason: 'card_lost', person: { name: '王芳' } });
    // This card's alert (another test reports a card lost and taps it too).
    const alerts = (await openAlerts('card_lost_used')).filter((a) => a.data.uid === '0BADCAFE');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ accessPoint: 'main-gate', data: { uid: '0BADCAFE', externalId: 'S20250002' } });
  });

  it('refuses a card reported lost through the API at the very next tap', async () => {
    const found = (await (await gw.api('/api/v1/people?externalId=S20250003', { token: security })).json()) as {
      items: { cards: { uid: string }[] }[];
    };
    const uid = found.items[0]!.cards[0]!.uid;
    expect((await tap('demo-gate-out', uid)).granted).toBe(true);
    const res = await gw.api(`/api/v1/cards/${uid}/lost`, { method: 'POST', token: security, json: {} });
    expect(res.status).toBe(200);
    expect(await tap('demo-gate-out', uid)).toMatchObject({ granted: false, reason: 'card_lost' });
    // Found again: security may give it back.
    expect((await gw.api(`/api/v1/cards/${uid}/unblock`, { method: 'POST', token: security, json: {} })).status).toBe(200);
    expect((await tap('demo-gate-out', uid)).granted).toBe(true);
  });

  it('answers unknown cards and unknown readers with their own reasons', async () => {
    expect(await tap('demo-gate-in', 'DEADBEEF')).toMatchObject({ granted: false, reason: 'unknown_card', person: null });
    expect(await tap('no-such-reader', '0A1B2C3D')).toMatchObject({ granted: false, reason: 'unknown_reader' });
  });

  it('applies anti-passback at the east gate, and resets it the next day', async () => {
    const uid = '0A1B2C3D';
    expect((await tap('sim-east-gate-in', uid)).reason).toBe('ok');
    expect(await tap('sim-east-gate-in', uid)).toMatchObject({ granted: false, reason: 'anti_passback' });
    expect((await tap('sim-east-gate-out', uid)).reason).toBe('ok');
    expect(await tap('sim-east-gate-out', uid)).toMatchObject({ granted: false, reason: 'anti_passback' });
    expect((await tap('sim-east-gate-in', uid)).reason).toBe('ok');
    clock.advance(24 * HOUR); // Wednesday 10:00: yesterday's "in" no longer counts
    expect((await tap('sim-east-gate-in', uid)).reason).toBe('ok');
  });

  it('holds students to the access point schedule in the school time zone', async () => {
    const uid = '0A1B2C3D';
    clock.set(Date.UTC(2026, 8, 1, 13, 30)); // 21:30 local: east gate still open for students until 22:00
    expect((await tap('sim-east-gate-out', uid)).granted).toBe(true);
    clock.set(Date.UTC(2026, 8, 1, 14, 30)); // 22:30 local
    expect(await tap('sim-east-gate-in', uid)).toMatchObject({ granted: false, reason: 'outside_schedule' });
    // Staff have no window at the east gate.
    expect(await tap('sim-east-gate-in', staffUid)).toMatchObject({ granted: true, reason: 'ok' });
  });

  it('lockdown lets only security staff through, is persisted and raises a critical alert', async () => {
    const start = await gw.api('/api/v1/lockdown', { method: 'POST', token: security, json: { reason: 'drill' } });
    expect(start.status).toBe(200);
    expect(await start.json()).toMatchObject({ active: true, reason: 'drill', startedBy: 'security' });
    expect(await tap('demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: false, reason: 'lockdown' });
    expect(await tap('demo-gate-in', staffUid)).toMatchObject({ granted: false, reason: 'lockdown' });
    expect(await tap('demo-gate-out', securityUid)).toMatchObject({ granted: true, reason: 'ok' });
    const critical = (await (await gw.api('/api/v1/alerts?status=open&type=lockdown', { token: admin })).json()) as {
      items: { severity: string }[];
    };
    expect(critical.items[0]?.severity).toBe('critical');
    // Its alert cannot be resolved by hand while the lockdown is on: that would look like the end of it.
    const byHand = await gw.api(`/api/v1/alerts/${(critical.items[0] as unknown as { id: string }).id}/resolve`, { method: 'POST', token: security, json: { note: 'seen' } });
    expect(byHand.status).toBe(409);
    expect(JSON.stringify(await byHand.json())).toMatch(/lockdown is still on/);
    // Everyone refused at every reader is the lockdown working, not someone trying card after card.
    clock.advance(120_000);
    for (let i = 0; i < 5; i++) {
      clock.advance(2_000);
      expect((await tap('demo-gate-in', '0A1B2C3D')).reason).toBe('lockdown');
    }
    expect((await openAlerts('repeated_denials')).filter((a) => a.data.readerId === 'demo-gate-in')).toHaveLength(0);
    expect(await (await gw.api('/api/v1/lockdown', { token: admin })).json()).toMatchObject({ active: true });
    const end = await gw.api('/api/v1/lockdown', { method: 'DELETE', token: admin });
    expect(await end.json()).toMatchObject({ active: false, endedBy: 'admin' });
    expect((await tap('demo-gate-in', '0A1B2C3D')).granted).toBe(true);
    expect(await openAlerts('lockdown')).toHaveLength(0);
  });

  it('raises repeated_denials after several refused taps at one reader within the window', async () => {
    const forReader = async (readerId: string) => (await openAlerts('repeated_denials')).filter((a) => a.data.readerId === readerId);
    clock.advance(120_000); // earlier refusals fall out of the 60 s window
    for (const uid of ['11111111', '22222222', '33333333']) await tap('demo-gate-out', uid);
    expect(await forReader('demo-gate-out')).toHaveLength(0);
    await tap('demo-gate-out', '44444444');
    const alerts = await forReader('demo-gate-out');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ accessPoint: 'main-gate', data: { count: 4 } });
  });

  it('debits the wallet for a canteen payment once per terminal sequence number', async () => {
    // From whatever the balance is when this test starts (the demo seeds ¥50.00; no other test here pays).
    const before = ((await (await gw.api('/api/v1/wallet/S20250001', { token: admin })).json()) as { balanceFen: number }).balanceFen;
    const after = before - 1250;
    const first = await tap('demo-canteen-1', '0A1B2C3D', { amount: 1250, seq: 18 });
    expect(first).toMatchObject({ granted: true, reason: 'ok', balance: after });
    const again = await tap('demo-canteen-1', '0A1B2C3D', { amount: 1250, seq: 18 });
    expect(again).toMatchObject({ granted: true, tapId: first.tapId, balance: after });
    // Another amount under the same number is refused; the genuine retry after it still gets the first answer.
    expect(await tap('demo-canteen-1', '0A1B2C3D', { amount: 999, seq: 18 })).toMatchObject({ granted: false, reason: 'seq_conflict', balance: after });
    expect(await tap('demo-canteen-1', '0A1B2C3D', { amount: 1250, seq: 18 })).toMatchObject({ granted: true, reason: 'ok', tapId: first.tapId });
    // Identification only: no amount, the balance shown.
    expect(await tap('demo-canteen-1', '0A1B2C3D')).toMatchObject({ granted: true, reason: 'ok', balance: after });
    expect(await tap('demo-canteen-1', '0A1B2C3D', { amount: 999_999, seq: 19 })).toMatchObject({ granted: false, balance: after });
  });

  it('lists access points with their readers and latest taps', async () => {
    // Its own tap at the gate, not another test's leftovers.
    const d = await tap('demo-gate-out', '0A1B2C3D');
    const res = await gw.api('/api/v1/access-points', { token: admin });
    const body = (await res.json()) as { items: { id: string; readers: { id: string }[]; latestTaps: { id: string; readerId: string }[] }[] };
    const main = body.items.find((a) => a.id === 'main-gate')!;
    expect(main.readers.map((r) => r.id).sort()).toEqual(['demo-gate-in', 'demo-gate-out']);
    expect(main.latestTaps.map((t) => t.id)).toContain(d.tapId);
    expect(main.latestTaps.every((t) => t.readerId.startsWith('demo-gate-'))).toBe(true);
  });
});

describe('school calendar at doors', () => {
  it('closes the lab to students on a holiday and on a weekend, opens it on a make-up Saturday, not to staff', async () => {
    const clock = new ManualClock(Date.UTC(2026, 9, 1, 2, 0)); // Thursday 2026-10-01 10:00 local, a holiday
    const gw = await startTestGateway({
      clock,
      config: {
        readers: [
          { id: 'demo-gate-in', accessPoint: 'main-gate', direction: 'in', driver: { type: 'mqtt' } },
          { id: 'lab-1-door', accessPoint: 'lab-1', driver: { type: 'mqtt' } },
        ],
        access: { calendar: { holidays: ['2026-10-01'], makeUpDays: ['2026-10-10'] } },
      },
    });
    try {
      const client = await gw.mqttClient();
      await client.subscribeAsync('campus/readers/+/decision', { qos: 1 });
      const tap = async (readerId: string, uid: string): Promise<Decision> => {
        const answer = nextMessage(client, `campus/readers/${readerId}/decision`);
        gw.ctx.bus.emit('tap.received', { readerId, uid, at: clock.now() });
        return JSON.parse((await answer).payload.toString()) as Decision;
      };
      const admin = await gw.login('admin');
      const staff = ((await (await gw.api('/api/v1/people?role=staff&limit=1', { token: admin })).json()) as {
        items: { cards: { uid: string }[] }[];
      }).items[0]!.cards[0]!.uid;

      expect(await tap('lab-1-door', '0A1B2C3D')).toMatchObject({ granted: false, reason: 'not_school_day' });
      expect((await tap('lab-1-door', staff)).granted).toBe(true);
      expect((await tap('demo-gate-in', '0A1B2C3D')).granted).toBe(true);
      clock.set(Date.UTC(2026, 9, 3, 2, 0)); // Saturday 10-03
      expect((await tap('lab-1-door', '0A1B2C3D')).reason).toBe('not_school_day');
      clock.set(Date.UTC(2026, 9, 10, 2, 0)); // Saturday 10-10, a make-up day: the weekday timetable applies
      expect(await tap('lab-1-door', '0A1B2C3D')).toMatchObject({ granted: true, reason: 'ok' });
      clock.set(Date.UTC(2026, 9, 12, 10, 0)); // Monday 18:00 local: after the lab's 17:00
      expect((await tap('lab-1-door', '0A1B2C3D')).reason).toBe('outside_schedule');
    } finally {
      await gw.close();
    }
  });
});

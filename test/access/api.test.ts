/**
 * Access over HTTP and MQTT on a running demo gateway: cards reported lost and given back, lockdown started and
 * ended, access points listed through the API; taps go on the bus as the reader drivers put them there and the
 * answers are read by a real MQTT client on the decision topics. The decisions themselves are tested on the
 * domain alone (decisions.test.ts).
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

describe('access through the API on the demo school', () => {
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

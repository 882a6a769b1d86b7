import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { nextMessage, startTestGateway, type TestGateway } from '../helpers/gateway.js';

// Tuesday 2026-09-01 07:30 in Shanghai: one school day throughout, whenever the suite runs (a run crossing Shanghai
// midnight, 16:00 UTC, would otherwise put the arrival and the register read on different days).
const clock = new ManualClock(Date.UTC(2026, 7, 31, 23, 30, 0));

let gw: TestGateway;
let client: MqttClient;
let token: string;

interface PersonDay {
  externalId: string;
  status: string | null;
  firstIn: string | null;
  firstInReader: string | null;
  lastOut: string | null;
  lastOutReader: string | null;
}

/** A network reader's tap over MQTT (the bare UID, as `mosquitto_pub -m 0A1B2C3D`); its decision comes back over MQTT. */
async function tap(readerId: string, uid: string): Promise<{ granted: boolean; reason: string; tapId: string }> {
  const next = nextMessage(client, `campus/readers/${readerId}/decision`);
  await client.publishAsync(`campus/readers/${readerId}/tap`, uid, { qos: 1 });
  return JSON.parse((await next).payload.toString()) as { granted: boolean; reason: string; tapId: string };
}

describe('attendance from the demo gate', () => {
  beforeAll(async () => {
    gw = await startTestGateway({ demo: true, clock });
    token = await gw.login('viewer');
    client = await gw.mqttClient();
    await client.subscribeAsync('campus/readers/+/decision');
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('shows the student as arrived after a granted tap at demo-gate-in, and as left after demo-gate-out', async () => {
    const before = (await (await gw.api('/api/v1/attendance', { token })).json()) as { people: PersonDay[] };
    expect(before.people.find((p) => p.externalId === 'S20250001')).toMatchObject({ firstIn: null });

    const decision = await tap('demo-gate-in', '0A1B2C3D');
    expect(decision).toMatchObject({ granted: true, reason: 'ok' });
    // The register row commits with the tap, before the gate is told to open: no waiting for it.
    const after = (await (await gw.api('/api/v1/attendance', { token })).json()) as { people: PersonDay[] };
    const arrived = after.people.find((x) => x.externalId === 'S20250001')!;
    expect(['present', 'late']).toContain(arrived.status);
    expect(arrived.firstInReader).toBe('demo-gate-in');
    // Not out yet: no exit time, and no exit reader either.
    expect(arrived).toMatchObject({ lastOut: null, lastOutReader: null });

    // The lost card is refused at the gate and does not count as an arrival.
    expect(await tap('demo-gate-in', '0BADCAFE')).toMatchObject({ granted: false, reason: 'card_lost' });

    clock.advance(9 * 3_600_000); // 16:30, home time
    const out = await tap('demo-gate-out', '0A1B2C3D');
    expect(out.granted).toBe(true);
    const day = (await (await gw.api('/api/v1/attendance/people/S20250001', { token })).json()) as PersonDay & {
      taps: { tapId: string; readerId: string; granted: boolean }[];
    };
    expect(day.lastOut).not.toBeNull();
    expect(day).toMatchObject({ firstInReader: 'demo-gate-in', lastOutReader: 'demo-gate-out' });
    expect(day.taps.map((t) => t.tapId)).toEqual([decision.tapId, out.tapId]);
    const lost = (await (await gw.api('/api/v1/attendance/people/S20250002', { token })).json()) as PersonDay & { taps: { granted: boolean }[] };
    expect(lost.firstIn).toBeNull();
    expect(lost.taps).toEqual([expect.objectContaining({ granted: false, reason: 'card_lost' })]);
  });

  it('still stores and answers a gate tap whose register row fails, and counts and reports the failure', async () => {
    // A real SQLite error inside the tap's transaction: the register table refuses rows for this one student.
    const person = (gw.ctx.db.prepare("SELECT id FROM persons WHERE external_id = 'S20250003'").get() as { id: number }).id;
    gw.ctx.db.exec(
      `CREATE TRIGGER refuse_register BEFORE INSERT ON attendance_days WHEN NEW.person_id = ${person}
       BEGIN SELECT RAISE(ABORT, 'register refused'); END`,
    );
    try {
      const admin = await gw.login('admin');
      const found = (await (await gw.api('/api/v1/people?externalId=S20250003', { token: admin })).json()) as { items: { cards: { uid: string }[] }[] };
      const decision = await tap('demo-gate-in', found.items[0]!.cards[0]!.uid);
      expect(decision).toMatchObject({ granted: true, reason: 'ok' });
      const taps = (await (await gw.api('/api/v1/taps?readerId=demo-gate-in&limit=1', { token: admin })).json()) as { items: { id: string }[] };
      expect(taps.items[0]!.id).toBe(decision.tapId);
      const day = (await (await gw.api('/api/v1/attendance/people/S20250003', { token })).json()) as PersonDay;
      expect(day.firstIn).toBeNull();
      const metrics = await (await gw.api('/metrics', { token: admin })).text();
      expect(metrics).toMatch(/campus_attendance_gate_taps_total\{result="failed"\} 1\b/);
      const health = (await (await fetch(`${gw.base}/healthz`)).json()) as { components: { attendance: { detail?: string } } };
      expect(health.components.attendance.detail).toBe('1 register write(s) failed');
    } finally {
      gw.ctx.db.exec('DROP TRIGGER refuse_register');
    }
  });
});

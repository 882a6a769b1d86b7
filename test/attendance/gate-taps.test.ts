import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextMessage, startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let client: MqttClient;
let token: string;

interface PersonDay {
  externalId: string;
  status: string | null;
  firstIn: string | null;
  firstInReader: string | null;
  lastOut: string | null;
}

/** A network reader's tap over MQTT (the bare UID, as `mosquitto_pub -m 0A1B2C3D`); its decision comes back over MQTT. */
async function tap(readerId: string, uid: string): Promise<{ granted: boolean; reason: string; tapId: string }> {
  const next = nextMessage(client, `campus/readers/${readerId}/decision`);
  await client.publishAsync(`campus/readers/${readerId}/tap`, uid, { qos: 1 });
  return JSON.parse((await next).payload.toString()) as { granted: boolean; reason: string; tapId: string };
}

describe('attendance from the demo gate', () => {
  beforeAll(async () => {
    gw = await startTestGateway({ demo: true });
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
    const arrived = await waitFor(async () => {
      const r = (await (await gw.api('/api/v1/attendance', { token })).json()) as { people: PersonDay[] };
      const p = r.people.find((x) => x.externalId === 'S20250001');
      return p?.firstIn ? p : null;
    });
    expect(['present', 'late']).toContain(arrived.status);
    expect(arrived.firstInReader).toBe('demo-gate-in');

    // The lost card is refused at the gate and does not count as an arrival.
    expect(await tap('demo-gate-in', '0BADCAFE')).toMatchObject({ granted: false, reason: 'card_lost' });

    const out = await tap('demo-gate-out', '0A1B2C3D');
    expect(out.granted).toBe(true);
    const day = await waitFor(async () => {
      const d = (await (await gw.api('/api/v1/attendance/people/S20250001', { token })).json()) as PersonDay & {
        taps: { tapId: string; readerId: string; granted: boolean }[];
      };
      return d.lastOut ? d : null;
    });
    expect(day.taps.map((t) => t.tapId)).toEqual([decision.tapId, out.tapId]);
    const lost = (await (await gw.api('/api/v1/attendance/people/S20250002', { token })).json()) as PersonDay & { taps: { granted: boolean }[] };
    expect(lost.firstIn).toBeNull();
    expect(lost.taps).toEqual([expect.objectContaining({ granted: false, reason: 'card_lost' })]);
  });
});

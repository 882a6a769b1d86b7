/**
 * Network readers on a running gateway: a real MQTT client publishes to campus/readers/<id>/tap on the embedded
 * broker; taps appear on the bus, malformed messages are counted while good ones keep flowing.
 */
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Tap } from '../../gateway/core/taps.js';
import { parseNetworkTap, parseOfflineUpload } from '../../drivers/rfid/mqtt-readers.js';
import { nextMessage, startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';

describe('network readers over MQTT', () => {
  let gw: TestGateway;
  let client: MqttClient;
  const taps: Tap[] = [];

  /** Publishes, then waits until the tap with this marker uid has arrived (MQTT keeps one client's order). */
  async function publishThenSync(topic: string, payload: string, marker: string): Promise<void> {
    await client.publishAsync(topic, payload, { qos: 1 });
    await client.publishAsync('campus/readers/net-sync/tap', marker, { qos: 1 });
    await waitFor(() => taps.some((t) => t.readerId === 'net-sync' && t.uid === marker));
  }

  // A fresh gateway per test: the readers' debounce memory, counters and the taps seen are each test's own.
  beforeEach(async () => {
    taps.length = 0;
    gw = await startTestGateway({
      config: {
        readers: [
          { id: 'net-gate', accessPoint: 'main-gate', direction: 'in', debounceMs: 60_000, driver: { type: 'mqtt' } },
          { id: 'net-pos', accessPoint: 'canteen', debounceMs: 60_000, driver: { type: 'mqtt' } },
          { id: 'net-sync', accessPoint: 'lab-1', debounceMs: 0, driver: { type: 'mqtt' } },
        ],
      },
    });
    gw.ctx.bus.on('tap.received', (t) => taps.push(t));
    client = await gw.mqttClient();
  });

  afterEach(async () => {
    await gw?.close();
  });

  it('takes JSON with seq and amount, and the bare UID as text', async () => {
    await publishThenSync('campus/readers/net-pos/tap', '{"uid":"0a1b2c3d","seq":17,"amount":1250}', '11111111');
    await publishThenSync('campus/readers/net-gate/tap', ' 56:30:F0:09 ', '11111112');
    const mine = taps.filter((t) => t.readerId !== 'net-sync');
    expect(mine).toEqual([
      { readerId: 'net-pos', uid: '0A1B2C3D', seq: 17, amount: 1250, at: expect.any(Number) },
      { readerId: 'net-gate', uid: '5630F009', at: expect.any(Number) },
    ]);
  });

  it('debounces a repeated card, but never a POS retry carrying the same seq', async () => {
    taps.length = 0;
    await publishThenSync('campus/readers/net-gate/tap', '0BADCAFE', '22222221');
    await publishThenSync('campus/readers/net-gate/tap', '0BADCAFE', '22222222');
    await publishThenSync('campus/readers/net-pos/tap', '{"uid":"0A1B2C3D","seq":18,"amount":500}', '22222223');
    await publishThenSync('campus/readers/net-pos/tap', '{"uid":"0A1B2C3D","seq":18,"amount":500}', '22222224');
    const mine = taps.filter((t) => t.readerId !== 'net-sync');
    expect(mine.map((t) => [t.readerId, t.uid, t.seq])).toEqual([
      ['net-gate', '0BADCAFE', undefined],
      ['net-pos', '0A1B2C3D', 18],
      ['net-pos', '0A1B2C3D', 18],
    ]);
    const token = await gw.login('viewer');
    const res = await gw.api('/api/v1/readers/net-gate', { token });
    expect(res.status).toBe(200);
    const info = (await res.json()) as { counters: { taps: number; debounced: number }; lastTapAt: string; driver: string; accessPoint: string };
    expect(info).toMatchObject({ driver: 'mqtt', accessPoint: 'main-gate', counters: { debounced: 1 } });
    expect(Date.parse(info.lastTapAt)).toBeGreaterThan(0);
  });

  it('counts malformed payloads and unknown readers by reason while good taps keep flowing', async () => {
    taps.length = 0;
    await publishThenSync('campus/readers/net-gate/tap', '{"uid": "0A1B', '33333331');
    await publishThenSync('campus/readers/net-gate/tap', '{"uid": 12345678}', '33333332');
    await publishThenSync('campus/readers/net-gate/tap', '{"seq":1250}', '33333333');
    await publishThenSync('campus/readers/net-gate/tap', 'hello', '33333334');
    await publishThenSync('campus/readers/nobody/tap', '0A1B2C3D', '33333335');
    await publishThenSync('campus/readers/net-gate/tap', 'x'.repeat(5000), '33333336');
    await publishThenSync('campus/readers/net-gate/tap', '04CEFED9A12580', '33333337');
    expect(taps.filter((t) => t.readerId !== 'net-sync').map((t) => t.uid)).toEqual(['04CEFED9A12580']);

    const metrics = await (await gw.api('/metrics')).text();
    const count = (reason: string): number => {
      const m = new RegExp(`^campus_reader_rejected_messages_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(metrics);
      return m ? Number(m[1]) : 0;
    };
    expect(count('malformed_json')).toBe(1);
    expect(count('bad_payload')).toBe(2);
    expect(count('bad_uid')).toBe(1);
    expect(count('unknown_reader')).toBe(1);
    expect(count('too_large')).toBe(1);
    const token = await gw.login('viewer');
    const list = (await (await gw.api('/api/v1/readers', { token })).json()) as {
      readers: { id: string; state: string; counters: { dropped: Record<string, number> } }[];
    };
    expect(list.readers.map((r) => r.id)).toEqual(['net-gate', 'net-pos', 'net-sync']);
    expect(list.readers.every((r) => r.state === 'up')).toBe(true);
    expect(list.readers[0]!.counters.dropped).toEqual({ malformed_json: 1, bad_payload: 2, bad_uid: 1, too_large: 1 });
  });

  it('puts taps through to a decision on the reader', async () => {
    await client.subscribeAsync('campus/readers/net-gate/decision');
    const decision = nextMessage(client, 'campus/readers/net-gate/decision');
    await client.publishAsync('campus/readers/net-gate/tap', '{"uid":"0A1B2C3D","seq":1}');
    expect(JSON.parse((await decision).payload.toString())).toMatchObject({ granted: true, reason: 'ok' });
  });

  it('needs a signed-in user for the readers API', async () => {
    expect((await gw.api('/api/v1/readers')).status).toBe(401);
    const token = await gw.login('viewer');
    expect((await gw.api('/api/v1/readers/nope', { token })).status).toBe(404);
  });
});

describe('network tap payloads', () => {
  it('accepts the documented shapes and names what is wrong with the rest', () => {
    const p = (s: string) => parseNetworkTap(Buffer.from(s));
    expect(p('{"uid":"0A1B2C3D","seq":17}')).toEqual({ ok: true, value: { uid: '0A1B2C3D', partial: false, seq: 17 } });
    expect(p('"0a1b2c3d"')).toEqual({ ok: true, value: { uid: '0A1B2C3D', partial: false } });
    // Only the card must be readable; a wrong seq, amount or PIN is answered by the decision, not dropped unanswered.
    expect(p('{"uid":"0A1B2C3D","seq":-1,"amount":"12.50"}')).toMatchObject({ ok: true, value: { uid: '0A1B2C3D', seq: undefined, amount: Number.NaN } });
    expect(p('{"seq":17}')).toMatchObject({ ok: false, reason: 'bad_payload', detail: expect.stringMatching(/^uid/) });
    expect(p('[1,2]')).toMatchObject({ ok: false, reason: 'bad_uid' });
    expect(p('')).toMatchObject({ ok: false, reason: 'bad_uid' });
  });
});

describe('a terminal that writes decimal card numbers (numberFormat)', () => {
  it('reads its taps and offline sales as the low bytes they were printed from, and refuses hex', () => {
    expect(parseNetworkTap(Buffer.from('3651216768'), '8h10d')).toMatchObject({ ok: true, value: { uid: 'D9A12580', partial: true } });
    expect(parseNetworkTap(Buffer.from('{"uid":"219,09801"}'), 'wg26')).toMatchObject({ ok: true, value: { uid: 'DB2649', partial: true } });
    expect(parseNetworkTap(Buffer.from('04CEFED9A12580'), '8h10d')).toMatchObject({ ok: false, reason: 'bad_uid' });
    const upload = parseOfflineUpload(Buffer.from(JSON.stringify({ batch: 'b1', transactions: [{ uid: '3651216768', seq: 1, amount: 500, at: 1_780_000_000_000 }] })), '8h10d');
    expect(upload).toMatchObject({ ok: true, value: { transactions: [{ uid: 'D9A12580', partial: true, seq: 1 }] } });
  });

  it('grants a 7-byte card from its 8h10d number at the gate, and refuses a number nobody holds', async () => {
    const gw = await startTestGateway({
      config: { readers: [{ id: 'net-dec', accessPoint: 'main-gate', direction: 'in', debounceMs: 0, driver: { type: 'mqtt', numberFormat: '8h10d' } }] },
    });
    try {
      const admin = await gw.login('admin');
      const person = (await (await gw.api('/api/v1/people', { method: 'POST', token: admin, json: { externalId: 'S20258888', name: 'Seven', role: 'student' } })).json()) as { id: number };
      expect((await gw.api(`/api/v1/people/${person.id}/cards`, { method: 'POST', token: admin, json: { uid: '04CEFED9A12580' } })).status).toBe(201);
      const client = await gw.mqttClient();
      await client.subscribeAsync('campus/readers/net-dec/decision');
      const ask = async (payload: string): Promise<{ granted: boolean; reason: string }> => {
        const answer = nextMessage(client, 'campus/readers/net-dec/decision');
        await client.publishAsync('campus/readers/net-dec/tap', payload, { qos: 1 });
        return JSON.parse((await answer).payload.toString()) as { granted: boolean; reason: string };
      };
      expect(await ask('{"uid":"3651216768","seq":1}')).toMatchObject({ granted: true, reason: 'ok' });
      expect(await ask('{"uid":"0000000001","seq":2}')).toMatchObject({ granted: false, reason: 'unknown_card' });
      const taps = (await (await gw.api('/api/v1/taps?readerId=net-dec', { token: admin })).json()) as { items: { seq: number; person: { externalId: string } | null }[] };
      expect(taps.items.find((t) => t.seq === 1)?.person?.externalId).toBe('S20258888');
    } finally {
      await gw.close();
    }
  });
});

describe('the demo school', () => {
  it('runs its network and simulated readers, all up, listed for any signed-in role', async () => {
    const gw = await startTestGateway({ simulatedReaders: true });
    try {
      const token = await gw.login('viewer');
      const list = (await (await gw.api('/api/v1/readers', { token })).json()) as {
        readers: { id: string; driver: string; state: string; accessPoint: string }[];
      };
      expect(list.readers.map((r) => [r.id, r.driver, r.state])).toEqual([
        ['demo-gate-in', 'mqtt', 'up'],
        ['demo-gate-out', 'mqtt', 'up'],
        ['demo-canteen-1', 'mqtt', 'up'],
        ['sim-east-gate-in', 'simulated', 'up'],
        ['sim-east-gate-out', 'simulated', 'up'],
        ['sim-canteen-2', 'simulated', 'up'],
      ]);
      const health = (await (await gw.api('/healthz')).json()) as { components: Record<string, { ok: boolean }> };
      expect(health.components.readers).toMatchObject({ ok: true });
    } finally {
      await gw.close();
    }
  });
});

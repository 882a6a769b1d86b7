/**
 * Alert triage at the desk (issue 25, point 3), through the real API of a demo gateway with its simulated
 * cameras: a lost card used again after its alert was acknowledged opens the alert again, announced as raised
 * (sound and badge in the console) with a picture of its own; a filtered list is acknowledged in one request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../gateway/alerts/alerts.js';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';

const PASSWORD = 'campus-demo';
let gw: TestGateway;
let token: string;

beforeAll(async () => {
  gw = await startTestGateway({ demo: true, config: { nodeRed: { enabled: false } } });
  token = await gw.login('security', PASSWORD);
});

afterAll(async () => {
  await gw?.close();
});

async function lostCardAlert(): Promise<Alert | undefined> {
  const res = await gw.api('/api/v1/alerts?type=card_lost_used', { token });
  return ((await res.json()) as { items: Alert[] }).items[0];
}

describe('alert triage', () => {
  it('a lost card used again after acknowledgement reopens its alert, announced as raised, with a second snapshot', async () => {
    const raised: Alert[] = [];
    gw.ctx.bus.on('alert.raised', (a) => raised.push(a));
    const mqtt = await gw.mqttClient();
    await mqtt.publishAsync('campus/readers/demo-gate-in/tap', JSON.stringify({ uid: '0BADCAFE', seq: 1 }), { qos: 1 });
    const first = await waitFor(async () => {
      const a = await lostCardAlert();
      return a && a.snapshotIds.length > 0 ? a : null;
    }, 10_000);
    const picturesOfFirstUse = first.snapshotIds.length;

    const ack = await gw.api(`/api/v1/alerts/${first.id}/ack`, { method: 'POST', token, json: { note: 'guard on the way' } });
    expect(ack.status).toBe(200);
    expect(((await ack.json()) as Alert).status).toBe('acknowledged');

    await mqtt.publishAsync('campus/readers/demo-gate-in/tap', JSON.stringify({ uid: '0BADCAFE', seq: 2 }), { qos: 1 });
    const again = await waitFor(async () => {
      const a = await lostCardAlert();
      return a && a.count === 2 && a.snapshotIds.length > picturesOfFirstUse ? a : null;
    }, 10_000);
    expect(again).toMatchObject({ id: first.id, status: 'open', count: 2, acknowledgedBy: 'security', ackNote: 'guard on the way' });
    expect(new Set(again.snapshotIds).size).toBe(again.snapshotIds.length);
    expect(raised.filter((a) => a.id === first.id).map((a) => a.status)).toEqual(['open', 'open']);

    // Acknowledged again, it stays so until the card turns up once more.
    const ack2 = await gw.api(`/api/v1/alerts/${first.id}/ack`, { method: 'POST', token, json: {} });
    expect(ack2.status).toBe(200);
  });

  it('acknowledges a filtered set in one request; what was not open is reported, not fatal', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await gw.api('/api/v1/alerts', { method: 'POST', token, json: { message: `fence ${i}`, severity: 'warning' } });
      ids.push(((await res.json()) as Alert).id);
    }
    await gw.api(`/api/v1/alerts/${ids[0]}/ack`, { method: 'POST', token, json: {} });
    const missing = '01ZZZZZZZZZZZZZZZZZZZZZZZZ';
    const res = await gw.api('/api/v1/alerts/ack', { method: 'POST', token, json: { ids: [...ids, missing], note: 'night round' } });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { acknowledged: string[]; skipped: { id: string; code: string }[] };
    expect(out.acknowledged.sort()).toEqual([ids[1], ids[2]].sort());
    expect(out.skipped).toEqual(expect.arrayContaining([{ id: ids[0], code: 'conflict' }, { id: missing, code: 'not_found' }]));
    const one = (await (await gw.api(`/api/v1/alerts/${ids[2]}`, { token })).json()) as Alert;
    expect(one).toMatchObject({ status: 'acknowledged', ackNote: 'night round', acknowledgedBy: 'security' });
  });

  it('refuses a bulk acknowledge from a viewer, and one larger than a page', async () => {
    const viewer = await gw.login('viewer', PASSWORD);
    const ids = ['01ZZZZZZZZZZZZZZZZZZZZZZZZ'];
    expect((await gw.api('/api/v1/alerts/ack', { method: 'POST', token: viewer, json: { ids } })).status).toBe(403);
    const tooMany = Array.from({ length: 501 }, () => ids[0]);
    expect((await gw.api('/api/v1/alerts/ack', { method: 'POST', token, json: { ids: tooMany } })).status).toBe(400);
    expect((await gw.api('/api/v1/alerts/ack', { method: 'POST', token, json: { ids: ['not-an-id'] } })).status).toBe(400);
  });
});

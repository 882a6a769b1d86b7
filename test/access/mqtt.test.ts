/** The README's demo taps end to end: a terminal publishes to the reader's tap topic and reads the decision topic. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { nextMessage, startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';

describe('taps over MQTT on the demo gateway', () => {
  let gw: TestGateway;
  let terminal: MqttClient;

  beforeAll(async () => {
    gw = await startTestGateway();
    terminal = await gw.mqttClient();
    await terminal.subscribeAsync('campus/readers/+/decision', { qos: 1 });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const publishTap = async (readerId: string, payload: string): Promise<Record<string, unknown>> => {
    const answer = nextMessage(terminal, `campus/readers/${readerId}/decision`);
    await terminal.publishAsync(`campus/readers/${readerId}/tap`, payload, { qos: 1 });
    return JSON.parse((await answer).payload.toString()) as Record<string, unknown>;
  };

  /** S20250001's (card 0A1B2C3D) balance now: the tests here pay in any order, so each reads it first. */
  const balance = async (): Promise<number> =>
    ((await (await gw.api('/api/v1/wallet/S20250001', { token: await gw.login('admin') })).json()) as { balanceFen: number }).balanceFen;

  it('grants 0A1B2C3D at demo-gate-in and answers on the decision topic', async () => {
    expect(await publishTap('demo-gate-in', '{"uid":"0A1B2C3D","seq":17}')).toMatchObject({
      granted: true, reason: 'ok', person: { name: '李明', class: '初一(1)班' },
    });
  });

  it('lets a client watching the taps and the events see each tap itself as well as its mirrored events', async () => {
    const watcher = await gw.mqttClient();
    const topics: string[] = [];
    watcher.on('message', (topic) => topics.push(topic));
    await watcher.subscribeAsync('campus/events/#');
    await watcher.subscribeAsync('campus/readers/+/tap');
    await publishTap('demo-gate-out', '{"uid":"0A1B2C3D","seq":18}');
    await waitFor(() => topics.includes('campus/events/tap.decided'));
    // The mirror is published while the broker is still delivering the tap; it must not make the tap itself vanish.
    expect(topics).toContain('campus/readers/demo-gate-out/tap');
    expect(topics).toContain('campus/events/tap.received');
    await watcher.endAsync();
  });

  it('answers a payment whose fields are wrong instead of leaving the terminal waiting', async () => {
    // Yuan as text, and a negative transaction number: refused with a reason, nothing charged.
    const before = await balance();
    expect(await publishTap('demo-canteen-1', '{"uid":"0A1B2C3D","amount":"12.50","seq":40}')).toMatchObject({ granted: false, reason: 'invalid_amount', balance: before });
    expect(await publishTap('demo-canteen-1', '{"uid":"0A1B2C3D","amount":100,"seq":-1}')).toMatchObject({ granted: false, reason: 'invalid_amount' });
    // The same unreadable payment again is a retry, not a conflict.
    expect(await publishTap('demo-canteen-1', '{"uid":"0A1B2C3D","amount":"12.50","seq":40}')).toMatchObject({ granted: false, reason: 'invalid_amount' });
    expect(await balance()).toBe(before);
  });

  it('refuses the lost 0BADCAFE (sent as bare text) with card_lost and an open alert', async () => {
    expect(await publishTap('demo-gate-in', '0BADCAFE')).toMatchObject({ granted: false, reason: 'card_lost' });
    const admin = await gw.login('admin');
    const alerts = await waitFor(async () => {
      const res = await gw.api('/api/v1/alerts?status=open&type=card_lost_used', { token: admin });
      const items = ((await res.json()) as { items: { accessPoint: string }[] }).items;
      return items.length > 0 ? items : null;
    });
    expect(alerts[0]!.accessPoint).toBe('main-gate');
  });

  it('debits a canteen payment once when the terminal sends it twice with the same seq', async () => {
    const before = await balance();
    const first = await publishTap('demo-canteen-1', '{"uid":"0A1B2C3D","amount":1250,"seq":18}');
    const second = await publishTap('demo-canteen-1', '{"uid":"0A1B2C3D","amount":1250,"seq":18}');
    expect(first).toMatchObject({ granted: true, balance: before - 1250 });
    expect(second).toMatchObject({ granted: true, balance: before - 1250, tapId: first.tapId });
    expect(await balance()).toBe(before - 1250);
  });
});

/**
 * Demo mode without an upstream: the gateway sends to the simulated city sink, which the API shows. Covers the
 * privacy defaults on alerts, the same-transaction outbox, and commands issued by the simulated city.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { nextMessage, startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';

interface SinkEntry {
  topic: string;
  valid: boolean;
  problems?: string[];
  envelope: { id: string; stream: string; type: string; schoolId: string; data: Record<string, unknown> };
}

describe('cloud sync in demo mode (simulated city sink)', () => {
  let gw: TestGateway;
  let viewer: string;
  let admin: string;
  let client: MqttClient;

  beforeAll(async () => {
    gw = await startTestGateway({ config: { cloud: { heartbeatIntervalS: 3600 } } });
    viewer = await gw.login('viewer');
    admin = await gw.login('admin');
    client = await gw.mqttClient();
    await client.subscribeAsync('campus/readers/+/decision', { qos: 1 });
  });
  afterAll(async () => {
    await gw?.close();
  });

  async function sink(stream?: string): Promise<SinkEntry[]> {
    const res = await gw.api(`/api/v1/sync/demo-sink?limit=500${stream ? `&stream=${stream}` : ''}`, { token: viewer });
    expect(res.status).toBe(200);
    return ((await res.json()) as { envelopes: SinkEntry[] }).envelopes;
  }

  async function tap(readerId: string, uid: string): Promise<{ granted: boolean; reason: string }> {
    const answer = nextMessage(client, `campus/readers/${readerId}/decision`);
    // As a reader driver puts a tap on the bus (the MQTT reader driver is tested by the access suite).
    gw.ctx.bus.emit('tap.received', { readerId, uid, at: Date.now() });
    return JSON.parse((await answer).payload.toString()) as { granted: boolean; reason: string };
  }

  it('shows the status to any signed-in role and refuses anonymous callers', async () => {
    expect((await gw.api('/api/v1/sync')).status).toBe(401);
    const res = await gw.api('/api/v1/sync', { token: viewer });
    expect(res.status).toBe(200);
    const s = (await res.json()) as Record<string, unknown>;
    expect(s).toMatchObject({ enabled: true, transport: 'demo', connected: true });
    expect(s.backlog).toHaveProperty('alerts');
  });

  it('delivers a heartbeat on start that matches the contract', async () => {
    const beats = await waitFor(async () => {
      const list = await sink('heartbeat');
      return list.length > 0 ? list : null;
    });
    expect(beats[0]).toMatchObject({ valid: true, topic: 'city/yanbian-edu/schools/demo-school/heartbeat' });
    expect(beats[0]!.envelope.data).toMatchObject({ versions: { contract: '2.1.0' }, transport: { kind: 'demo' } });
  });

  it('sends a lost-card alert without the name, card UID or external id of the student', async () => {
    const d = await tap('demo-gate-in', '0BADCAFE');
    expect(d).toMatchObject({ granted: false, reason: 'card_lost' });
    const alerts = await waitFor(async () => {
      const list = (await sink('alerts')).filter((e) => e.envelope.type === 'alert.raised' && e.envelope.data.type === 'card_lost_used');
      return list.length > 0 ? list : null;
    });
    const e = alerts[0]!;
    expect(e.valid).toBe(true);
    expect(e.topic).toBe('city/yanbian-edu/schools/demo-school/alerts');
    expect(e.envelope.data).toMatchObject({ type: 'card_lost_used', accessPoint: 'main-gate', details: { readerId: 'demo-gate-in' } });
    const text = JSON.stringify(e.envelope);
    expect(text).not.toContain('0BADCAFE');
    expect(text).not.toContain('王芳');
    expect(text).not.toContain('S20250002');
    expect(e.envelope.data).not.toHaveProperty('subject');
    expect(e.envelope.data).not.toHaveProperty('message');
  });

  it('sends acknowledgement and resolution of that alert in order on the alerts stream', async () => {
    // Its own alert at the main gate, whose (simulated) camera attaches a picture: waited for, so the update is
    // certain to be on the stream before the state changes rather than maybe in between.
    const { id } = gw.ctx.alerts.raise({
      type: 'intrusion', severity: 'warning', source: 'test', message: 'ladder at the fence', accessPoint: 'main-gate', dedupKey: 'demo-sink:ack-order',
    });
    await waitFor(async () => ((await (await gw.api(`/api/v1/alerts/${id}`, { token: admin })).json()) as { snapshotIds: string[] }).snapshotIds.length > 0, 10_000);
    expect((await gw.api(`/api/v1/alerts/${id}/ack`, { method: 'POST', token: admin, json: {} })).status).toBe(200);
    expect((await gw.api(`/api/v1/alerts/${id}/resolve`, { method: 'POST', token: admin, json: {} })).status).toBe(200);
    const types = await waitFor(async () => {
      const seq = (await sink('alerts'))
        .filter((e) => e.envelope.data.alertId === id)
        .reverse()
        .map((e) => e.envelope.type);
      return seq.includes('alert.resolved') ? seq : null;
    });
    // The state changes keep their order; the picture went as an update before them.
    expect(types.filter((t) => t !== 'alert.updated')).toEqual(['alert.raised', 'alert.acknowledged', 'alert.resolved']);
    expect(types.indexOf('alert.updated')).toBeGreaterThan(0);
    expect(types.indexOf('alert.updated')).toBeLessThan(types.indexOf('alert.acknowledged'));
    const withSnapshot = (await sink('alerts')).find((e) => e.envelope.data.alertId === id && ((e.envelope.data.snapshots as unknown[] | undefined) ?? []).length > 0);
    expect((withSnapshot?.envelope.data.snapshots as { path: string }[] | undefined)?.[0]?.path).toMatch(/^\/api\/v1\/snapshots\//);
  });

  it('sends no free text typed at the school (a lockdown reason, details from a flow, a place that is no id) without the opt-in', async () => {
    const security = await gw.login('security');
    const named = '初一(1)班 丁敏 S20250016, guardian 13800138000';
    // A manual alert names its place by the school's ids: anything else is refused, where it went up as the place.
    const manual = await gw.api('/api/v1/alerts', { method: 'POST', token: security, json: { message: 'fight', type: 'fight', zone: named, accessPoint: '李俊 13800138000' } });
    expect(manual.status).toBe(400);
    expect(await manual.text()).toMatch(/zone|accessPoint/);
    const fight = await gw.api('/api/v1/alerts', { method: 'POST', token: security, json: { message: 'fight', type: 'fight', zone: 'playground' } });
    expect(fight.status).toBe(201);
    const fightId = ((await fight.json()) as { id: string }).id;
    // A lockdown's reason is what staff typed.
    expect((await gw.api('/api/v1/lockdown', { method: 'POST', token: security, json: { reason: named } })).status).toBe(200);
    expect((await gw.api('/api/v1/lockdown', { method: 'DELETE', token: security })).status).toBe(200);
    // A flow's alert (the campus alert node) carries whatever the flow put in its data and places.
    const { id: flowId } = gw.ctx.alerts.raise({
      type: 'flow_probe', severity: 'info', source: 'flow:probe', message: named, zone: '丁敏的教室', dedupKey: 'demo-sink:free-text',
      data: { reason: `${named} missing`, readerId: 'demo-gate-in', count: 3 },
    });
    const sent = await waitFor(async () => {
      const list = await sink('alerts');
      const lockdown = list.filter((e) => e.envelope.data.type === 'lockdown');
      return lockdown.some((e) => e.envelope.type === 'alert.resolved') && list.some((e) => e.envelope.data.alertId === flowId) && list.some((e) => e.envelope.data.alertId === fightId)
        ? list
        : null;
    });
    const text = JSON.stringify(sent);
    for (const word of ['丁敏', 'S20250016', '13800138000', '李俊', '初一']) expect(text).not.toContain(word);
    const flow = sent.find((e) => e.envelope.data.alertId === flowId)!;
    // What is a code or an id still goes: the place is left out, not the alert.
    expect(flow.envelope.data).toMatchObject({ type: 'flow_probe', summary: 'flow_probe', details: { readerId: 'demo-gate-in', count: 3 } });
    expect(flow.envelope.data).toMatchObject({ zone: null, accessPoint: null });
    expect(sent.find((e) => e.envelope.data.alertId === fightId)!.envelope.data).toMatchObject({ zone: 'playground', summary: 'fight at playground' });
  });

  const duplicates = async (): Promise<number> =>
    ((await (await gw.api('/api/v1/sync', { token: viewer })).json()) as { commands: { rejected: { duplicate: number } } }).commands.rejected.duplicate;

  it('runs a lockdown ordered by the city once, reports the result, and the next student tap is denied', async () => {
    const duplicatesBefore = await duplicates();
    const send = (json: unknown) => gw.api('/api/v1/sync/demo-sink/commands', { method: 'POST', token: admin, json });
    expect((await send({ id: 'city-lock-1', type: 'lockdown.start', params: { reason: 'drill' } })).status).toBe(202);
    expect((await send({ id: 'city-lock-1', type: 'lockdown.start', params: { reason: 'drill' } })).status).toBe(202);
    const done = await waitFor(async () => (await sink('command-results')).find((e) => e.envelope.data.commandId === 'city-lock-1' && e.envelope.data.status === 'ok'));
    expect(done.envelope.data).toMatchObject({ status: 'ok', commandType: 'lockdown.start', detail: { lockdown: true } });
    expect(await tap('demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: false, reason: 'lockdown' });
    // The second copy of the same id is not run again: it is answered as a duplicate (signed with the demo key, so not unsigned).
    const repeat = await waitFor(async () => (await sink('command-results')).find((e) => e.envelope.data.commandId === 'city-lock-1' && e.envelope.data.status === 'rejected'));
    expect(repeat.envelope.data).toMatchObject({ reason: 'duplicate' });
    expect(await duplicates()).toBe(duplicatesBefore + 1);
    await waitFor(async () => (await sink('command-results')).filter((e) => e.envelope.data.commandId === 'city-lock-1').length === 2);

    expect((await send({ id: 'city-lock-2', type: 'lockdown.end' })).status).toBe(202);
    await waitFor(async () => (await sink('command-results')).some((e) => e.envelope.data.commandId === 'city-lock-2'));
    expect(await tap('demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
  });

  it('blocks and unblocks a card by external id for the city, and rejects an unknown person in the result', async () => {
    const send = (json: unknown) => gw.api('/api/v1/sync/demo-sink/commands', { method: 'POST', token: admin, json });
    await send({ id: 'city-block-1', type: 'card.block', params: { externalId: 'S20250001' } });
    const r = await waitFor(async () => (await sink('command-results')).find((e) => e.envelope.data.commandId === 'city-block-1'));
    expect(r.envelope.data).toMatchObject({ status: 'ok', detail: { cards: 1 } });
    expect(await tap('demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: false, reason: 'card_blocked' });
    await send({ id: 'city-unblock-1', type: 'card.unblock', params: { externalId: 'S20250001' } });
    await waitFor(async () => (await sink('command-results')).some((e) => e.envelope.data.commandId === 'city-unblock-1'));
    expect(await tap('demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });

    await send({ id: 'city-block-2', type: 'card.block', params: { externalId: 'NOBODY' } });
    const bad = await waitFor(async () => (await sink('command-results')).find((e) => e.envelope.data.commandId === 'city-block-2'));
    expect(bad.envelope.data).toMatchObject({ status: 'failed', error: { code: 'not_found' } });
  });

  it('lets security staff order no card command through the demo city: blocking a card is the admin\'s', async () => {
    const security = await gw.login('security');
    const send = (json: unknown) => gw.api('/api/v1/sync/demo-sink/commands', { method: 'POST', token: security, json });
    expect((await send({ id: 'sec-block', type: 'card.block', params: { externalId: 'S20250001' } })).status).toBe(403);
    expect((await send({ id: 'sec-unblock', type: 'card.unblock', params: { externalId: 'S20250002' } })).status).toBe(403);
    expect(await tap('demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    expect((await send({ id: 'sec-ping', type: 'ping' })).status).toBe(202);
  });

  it('answers a ping and rejects a malformed command body with 400', async () => {
    const bad = await gw.api('/api/v1/sync/demo-sink/commands', { method: 'POST', token: admin, json: { type: 'self.destruct' } });
    expect(bad.status).toBe(400);
    await gw.api('/api/v1/sync/demo-sink/commands', { method: 'POST', token: admin, json: { id: 'p1', type: 'ping' } });
    const r = await waitFor(async () => (await sink('command-results')).find((e) => e.envelope.data.commandId === 'p1'));
    expect(r).toMatchObject({ valid: true, envelope: { data: { status: 'ok', commandType: 'ping' } } });
  });

  it('exposes sync metrics for Prometheus', async () => {
    const metric = async (line: RegExp): Promise<number> => Number(line.exec(await (await fetch(`${gw.base}/metrics`)).text())?.[1] ?? 0);
    const DUPLICATE = /campus_sync_commands_rejected_total\{reason="duplicate"\} (\d+)/;
    const SENT_ALERTS = /campus_sync_sent_total\{stream="alerts"\} (\d+)/;
    const [dupBefore, sentBefore] = [await metric(DUPLICATE), await metric(SENT_ALERTS)];
    // Its own traffic: one alert sent, one command sent twice.
    const { id } = gw.ctx.alerts.raise({ type: 'metrics_probe', severity: 'info', source: 'test', message: 'probe', dedupKey: 'demo-sink:metrics' });
    await waitFor(async () => (await sink('alerts')).some((e) => e.envelope.data.alertId === id));
    const send = () => gw.api('/api/v1/sync/demo-sink/commands', { method: 'POST', token: admin, json: { id: 'metrics-ping', type: 'ping' } });
    expect((await send()).status).toBe(202);
    expect((await send()).status).toBe(202);
    await waitFor(async () => (await metric(DUPLICATE)) === dupBefore + 1);
    await waitFor(async () => (await metric(SENT_ALERTS)) > sentBefore);
    const text = await (await fetch(`${gw.base}/metrics`)).text();
    expect(text).toContain('campus_sync_backlog{stream="heartbeat"}');
  });
});

/**
 * Least data for viewers (a class teacher's tablet, a hall display): they see who tapped where and what was decided,
 * never a payment's amount, a balance or a card UID. Admin and security still see all of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { nextMessage, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { SseReader } from '../helpers/sse.js';

const CARD = '0A1B2C3D';
const HIDDEN = ['uid', 'amount', 'balance'] as const;

describe('viewers see no amounts, balances or card UIDs', () => {
  let gw: TestGateway;
  let terminal: MqttClient;
  let tokens: Record<'admin' | 'security' | 'viewer', string>;
  const streams: SseReader[] = [];
  const aborts: AbortController[] = [];

  const openStream = async (token: string, kinds: string): Promise<SseReader> => {
    const ac = new AbortController();
    aborts.push(ac);
    const res = await fetch(`${gw.base}/api/v1/events/stream?kinds=${kinds}&access_token=${token}`, { signal: ac.signal });
    expect(res.status).toBe(200);
    const r = new SseReader(res);
    streams.push(r);
    return r;
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    tokens = { admin: await gw.login('admin'), security: await gw.login('security'), viewer: await gw.login('viewer') };
    terminal = await gw.mqttClient();
    await terminal.subscribeAsync('campus/readers/+/decision', { qos: 1 });
  });
  afterAll(async () => {
    for (const ac of aborts) ac.abort();
    await gw?.close();
  });

  it('leaves them out of the live tap events for a viewer and keeps them for admin and security', async () => {
    const viewer = await openStream(tokens.viewer, 'tap.');
    const admin = await openStream(tokens.admin, 'tap.');
    const security = await openStream(tokens.security, 'tap.');
    const answer = nextMessage(terminal, 'campus/readers/demo-canteen-1/decision');
    await terminal.publishAsync('campus/readers/demo-canteen-1/tap', JSON.stringify({ uid: CARD, amount: 650, seq: 9001 }), { qos: 1 });
    const paid = JSON.parse((await answer).payload.toString()) as { granted: boolean; balance: number };
    expect(paid).toMatchObject({ granted: true, balance: expect.any(Number) });

    const decided = (r: SseReader) => r.next((e) => e.event === 'tap.decided').then((e) => JSON.parse(e!.data) as Record<string, unknown>);
    const received = (r: SseReader) => r.next((e) => e.event === 'tap.received').then((e) => JSON.parse(e!.data) as Record<string, unknown>);

    // Streams deliver in bus order: tap.received, then tap.decided.
    const vReceived = await received(viewer);
    const vDecided = await decided(viewer);
    for (const k of HIDDEN) {
      expect(vReceived).not.toHaveProperty(k);
      expect(vDecided).not.toHaveProperty(k);
    }
    expect(JSON.stringify([vReceived, vDecided])).not.toContain(CARD);
    // What a viewer still needs: who, where, the decision.
    expect(vDecided).toMatchObject({ readerId: 'demo-canteen-1', granted: true, reason: 'ok', person: { name: '李明' } });

    for (const r of [admin, security]) {
      expect(await received(r)).toMatchObject({ uid: CARD, amount: 650 });
      expect(await decided(r)).toMatchObject({ uid: CARD, amount: 650, balance: paid.balance, granted: true });
    }
  });

  it('leaves them out of GET /api/v1/taps for a viewer and keeps them for admin', async () => {
    // A canteen payment of its own to list.
    const answer = nextMessage(terminal, 'campus/readers/demo-canteen-1/decision');
    await terminal.publishAsync('campus/readers/demo-canteen-1/tap', JSON.stringify({ uid: CARD, amount: 100, seq: 9101 }), { qos: 1 });
    expect(JSON.parse((await answer).payload.toString())).toMatchObject({ granted: true });
    const list = async (token: string) => {
      const res = await gw.api('/api/v1/taps?accessPoint=canteen&limit=5', { token });
      expect(res.status).toBe(200);
      return (await res.json()) as { items: Record<string, unknown>[] };
    };
    const forViewer = await list(tokens.viewer);
    expect(forViewer.items.length).toBeGreaterThan(0);
    expect(JSON.stringify(forViewer)).not.toContain(CARD);
    for (const item of forViewer.items) for (const k of HIDDEN) expect(item).not.toHaveProperty(k);
    expect(forViewer.items[0]).toMatchObject({ readerId: 'demo-canteen-1', granted: true, person: { name: '李明' } });

    const forAdmin = await list(tokens.admin);
    expect(forAdmin.items[0]).toMatchObject({ uid: CARD, amount: 100, balance: expect.any(Number) });
  });

  it('leaves the card out of a lost-card alert\'s data for a viewer, in the stream and in the list', async () => {
    const viewer = await openStream(tokens.viewer, 'alert.');
    const admin = await openStream(tokens.admin, 'alert.');
    await terminal.publishAsync('campus/readers/demo-gate-in/tap', JSON.stringify({ uid: '0BADCAFE', seq: 9002 }), { qos: 1 });
    const raised = (r: SseReader) =>
      r.next((e) => e.event === 'alert.raised' && e.data.includes('card_lost_used')).then((e) => JSON.parse(e!.data) as { id: string; data: Record<string, unknown> });
    const forViewer = await raised(viewer);
    expect(forViewer.data).not.toHaveProperty('uid');
    // Nor in the sentence written for people ("Lost card 0BADCAFE of …").
    expect(JSON.stringify(forViewer)).not.toContain('0BADCAFE');
    expect(forViewer.data).toMatchObject({ externalId: expect.any(String), readerId: 'demo-gate-in' });
    expect((await raised(admin)).data).toMatchObject({ uid: '0BADCAFE' });

    const one = async (token: string) => ((await (await gw.api(`/api/v1/alerts/${forViewer.id}`, { token })).json()) as { data: Record<string, unknown> }).data;
    expect(await one(tokens.viewer)).not.toHaveProperty('uid');
    expect(await one(tokens.security)).toMatchObject({ uid: '0BADCAFE' });
    const list = (await (await gw.api('/api/v1/alerts?type=card_lost_used', { token: tokens.viewer })).json()) as { items: { data: Record<string, unknown> }[] };
    expect(list.items.length).toBeGreaterThan(0);
    for (const a of list.items) expect(a.data).not.toHaveProperty('uid');
    expect(JSON.stringify(list)).not.toContain('0BADCAFE');
    expect((await (await gw.api(`/api/v1/alerts/${forViewer.id}`, { token: tokens.viewer })).text())).not.toContain('0BADCAFE');
  });

  it("gives the canteen's takings and one person's balance to the desk only", async () => {
    // An attacker review: a viewer read a till's total before and after a payment it saw named in the recent payments,
    // and had that child's amount. The totals are the desk's now, with one person's money.
    expect((await gw.api('/api/v1/wallet/sales', { token: tokens.viewer })).status).toBe(403);
    expect((await gw.api('/api/v1/wallet/sales', { token: tokens.security })).status).toBe(200);
    expect((await gw.api('/api/v1/wallet/S20250001', { token: tokens.viewer })).status).toBe(403);
    expect((await gw.api('/api/v1/wallet/S20250001', { token: tokens.security })).status).toBe(200);
  });

  it('gives a viewer people without their cards\' UIDs, and no way to look a card up', async () => {
    const body = async (path: string, token: string) => {
      const res = await gw.api(path, { token });
      return { status: res.status, text: await res.text() };
    };
    const list = await body('/api/v1/people?q=S20250001', tokens.viewer);
    expect(list.status).toBe(200);
    expect(list.text).toContain('S20250001');
    expect(list.text).not.toContain(CARD);
    const id = (JSON.parse(list.text) as { items: { id: number }[] }).items[0]!.id;
    const one = await body(`/api/v1/people/${id}`, tokens.viewer);
    expect(one.status).toBe(200);
    expect(one.text).not.toContain(CARD);
    // A card number typed by a viewer is not an oracle for which cards exist.
    expect((await body(`/api/v1/people?card=${CARD}`, tokens.viewer)).status).toBe(403);
    expect((await body(`/api/v1/cards/${CARD}`, tokens.viewer)).status).toBe(403);
    expect((await body('/api/v1/cards/blocklist', tokens.viewer)).status).toBe(403);
    // The desk keeps all of it.
    expect((await body(`/api/v1/people/${id}`, tokens.admin)).text).toContain(CARD);
    expect((await body(`/api/v1/people?card=${CARD}`, tokens.security)).text).toContain('S20250001');
    expect((await body(`/api/v1/cards/${CARD}`, tokens.security)).status).toBe(200);
  });
});

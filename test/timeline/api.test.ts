/**
 * GET /api/v1/timeline on a real gateway and SQLite file: taps sent by MQTT readers, a lost card's alert and a lockdown,
 * many of them in the same millisecond (a manual clock), paged back to the first with nothing lost or repeated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { ManualClock } from '../../gateway/core/clock.js';
import { nextMessage, startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface Item {
  kind: 'tap' | 'alert' | 'camera' | 'lockdown';
  id: string;
  at: string;
  cursor: string;
  accessPoint?: string | null;
  person?: { externalId: string } | null;
  uid?: string | null;
  alert?: { message: string; snapshotIds: string[]; accessPoint: string | null };
  active?: boolean;
  cameraId?: string;
  accessPoints?: string[];
}
interface Page {
  items: Item[];
  nextBefore: string | null;
  snapshotsHidden: boolean;
}

const TAPS = 520;
const order = (c: string): [number, string, string] => {
  const [at, kind, id] = c.split('~');
  return [Number(at), kind!, id!];
};
/** a is after b in (at, kind, id) order. */
const after = (a: string, b: string): boolean => {
  const [x, y] = [order(a), order(b)];
  return x[0] !== y[0] ? x[0] > y[0] : x[1] !== y[1] ? x[1] > y[1] : x[2] > y[2];
};

describe('the timeline API', () => {
  let gw: TestGateway;
  let terminal: MqttClient;
  let admin: string;
  const clock = new ManualClock(Date.UTC(2026, 8, 1, 0, 0, 0));
  const sent = { mainGate: 0, canteen: 0, student: 0, lost: 0 };

  const tap = async (readerId: string, uid: string, seq: number): Promise<void> => {
    const answer = nextMessage(terminal, `campus/readers/${readerId}/decision`);
    await terminal.publishAsync(`campus/readers/${readerId}/tap`, JSON.stringify({ uid, seq }), { qos: 1 });
    await answer;
  };

  const all = async (query: string, token: string, limit = 37): Promise<Item[]> => {
    const items: Item[] = [];
    let before: string | null = null;
    for (let pages = 0; pages < 1000; pages++) {
      const r = await gw.api(`/api/v1/timeline?limit=${limit}${query}${before ? `&before=${encodeURIComponent(before)}` : ''}`, { token });
      expect(r.status).toBe(200);
      const page = (await r.json()) as Page;
      items.push(...page.items);
      if (!page.nextBefore) return items;
      before = page.nextBefore;
    }
    throw new Error('the timeline never ended');
  };

  beforeAll(async () => {
    gw = await startTestGateway({ clock });
    terminal = await gw.mqttClient();
    await terminal.subscribeAsync('campus/readers/+/decision', { qos: 1 });
    admin = await gw.login('admin');
    for (let i = 0; i < TAPS; i++) {
      // Four taps in each millisecond: a page boundary falls between rows of one time again and again.
      if (i % 4 === 0) clock.advance(1);
      const atGate = i % 3 !== 0;
      const uid = i % 50 === 7 ? '0BADCAFE' : i % 2 === 0 ? '0A1B2C3D' : 'FEEDF00D';
      await tap(atGate ? (i % 2 ? 'demo-gate-in' : 'demo-gate-out') : 'demo-canteen-1', uid, i + 1);
      if (atGate) sent.mainGate++;
      else sent.canteen++;
      if (uid === '0A1B2C3D') sent.student++;
      if (uid === '0BADCAFE') sent.lost++;
      // A lockdown started and ended in the same milliseconds as taps.
      if (i === 200) expect((await gw.api('/api/v1/lockdown', { method: 'POST', token: admin, json: { reason: 'drill' } })).status).toBe(200);
      if (i === 300) expect((await gw.api('/api/v1/lockdown', { method: 'DELETE', token: admin })).status).toBe(200);
    }
  }, 120_000);
  afterAll(async () => {
    await terminal?.endAsync();
    await gw?.close();
  });

  it('pages back through every tap, alert and lockdown change once each, newest first', async () => {
    const items = await all('', admin);
    const taps = items.filter((i) => i.kind === 'tap');
    expect(taps).toHaveLength(TAPS);
    expect(new Set(items.map((i) => i.cursor)).size).toBe(items.length);
    for (let i = 1; i < items.length; i++) expect(after(items[i - 1]!.cursor, items[i]!.cursor)).toBe(true);
    expect(items.filter((i) => i.kind === 'lockdown').map((i) => i.active)).toEqual([false, true]);
    const kinds = new Set(items.map((i) => i.kind));
    expect(kinds.has('alert')).toBe(true);
    // The desk sees the card.
    expect(taps.some((t) => t.uid === '0A1B2C3D')).toBe(true);
    // The same history in pages of 200 (the most) is the same list.
    expect((await all('', admin, 200)).map((i) => i.cursor)).toEqual(items.map((i) => i.cursor));
  });

  it('narrows to a gate, a camera and a person, keeping lockdown changes in each', async () => {
    const gate = await all('&accessPoint=main-gate', admin);
    expect(gate.filter((i) => i.kind === 'tap')).toHaveLength(sent.mainGate);
    const atGate = (i: Item): boolean =>
      i.kind === 'lockdown' ||
      (i.kind === 'tap' ? i.accessPoint === 'main-gate' : i.kind === 'alert' ? i.alert?.accessPoint === 'main-gate' : !!i.accessPoints?.includes('main-gate'));
    expect(gate.filter((i) => !atGate(i))).toEqual([]);
    expect(gate.filter((i) => i.kind === 'lockdown')).toHaveLength(2);

    // cam-main-gate covers main-gate: its page holds that gate's taps, none of the canteen's.
    const cam = await all('&camera=cam-main-gate', admin);
    expect(cam.filter((i) => i.kind === 'tap')).toHaveLength(sent.mainGate);
    expect(cam.filter((i) => i.kind === 'camera' && i.cameraId !== 'cam-main-gate')).toEqual([]);

    const student = await all('&person=S20250001', admin);
    expect(student.filter((i) => i.kind === 'tap')).toHaveLength(sent.student);
    expect(student.every((i) => i.kind === 'lockdown' || i.person?.externalId === 'S20250001')).toBe(true);

    const lost = await all('&person=S20250002', admin);
    expect(lost.filter((i) => i.kind === 'tap')).toHaveLength(sent.lost);
    expect(lost.filter((i) => i.kind === 'alert')).toHaveLength(1);
  });

  it('gives a viewer no card UIDs, amounts, balances or snapshots, not even inside an alert message', async () => {
    const viewer = await gw.login('viewer');
    const r = await gw.api('/api/v1/timeline?limit=200&person=S20250002', { token: viewer });
    const text = await r.text();
    const page = JSON.parse(text) as Page;
    expect(page.items.some((i) => i.kind === 'alert')).toBe(true);
    expect(text).not.toMatch(/"uid"|"amount"|"balance"/);
    expect(text).not.toContain('0BADCAFE');
    expect(page.snapshotsHidden).toBe(true);
    expect(page.items.filter((i) => i.kind === 'alert').every((i) => i.alert!.snapshotIds.length === 0)).toBe(true);
    // The desk's copy of the same alert names the card.
    const desk = await (await gw.api('/api/v1/timeline?limit=200&person=S20250002', { token: admin })).text();
    expect(desk).toContain('0BADCAFE');
  });

  it('refuses a forged cursor, an oversized page and an id with SQL in it with a 400 naming the field', async () => {
    for (const [q, field] of [
      ['before=1~tap~x%27%20OR%201=1', 'query.before'],
      ['before=999999999999999999~tap~A', 'query.before'],
      ['limit=201', 'query.limit'],
      ['limit=0', 'query.limit'],
      ["person=S1'%20OR%20'1'='1", 'query.person'],
    ] as const) {
      const r = await gw.api(`/api/v1/timeline?${q}`, { token: admin });
      expect(r.status, q).toBe(400);
      expect(JSON.stringify(await r.json()), q).toContain(field);
    }
  });
});

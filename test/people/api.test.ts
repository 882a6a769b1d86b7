/** People and cards through the HTTP API of a running demo gateway: roles, search by any printed card form, card life cycle. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface PersonOut {
  id: number;
  externalId: string;
  name: string;
  role: string;
  grade: string | null;
  class: string | null;
  scheduleGroup: string;
  security: boolean;
  cards: { uid: string; status: string; match: string }[];
}

describe('people and cards API', () => {
  let gw: TestGateway;
  let admin: string;
  let security: string;
  let viewer: string;

  // A fresh demo school per test: the people and cards one test creates are not another's (tests run in any order).
  beforeEach(async () => {
    gw = await startTestGateway();
    [admin, security, viewer] = await Promise.all([gw.login('admin'), gw.login('security'), gw.login('viewer')]);
  });
  afterEach(async () => {
    await gw?.close();
  });

  const call = async (method: string, path: string, token: string | undefined, json?: unknown): Promise<{ status: number; body: unknown }> => {
    const res = await gw.api(`/api/v1${path}`, { method, ...(token ? { token } : {}), ...(json !== undefined ? { json } : {}) });
    return { status: res.status, body: await res.json() };
  };

  it('enforces roles on every route (401 without a session, 403 for the wrong role)', async () => {
    const cases: [string, string, unknown, { admin: number; security: number; viewer: number }][] = [
      ['GET', '/people', undefined, { admin: 200, security: 200, viewer: 200 }],
      ['POST', '/people', { externalId: 'X-ROLE', name: '测试', role: 'visitor' }, { admin: 201, security: 403, viewer: 403 }],
      ['PATCH', '/people/1', { grade: '初一' }, { admin: 200, security: 403, viewer: 403 }],
      ['POST', '/people/1/cards', { uid: '01020304' }, { admin: 201, security: 403, viewer: 403 }],
      ['POST', '/cards/01020304/block', {}, { admin: 200, security: 403, viewer: 403 }],
      ['POST', '/cards/01020304/lost', {}, { admin: 409, security: 409, viewer: 403 }],
      ['POST', '/lockdown', { reason: 'role check' }, { admin: 200, security: 200, viewer: 403 }],
      ['DELETE', '/lockdown', undefined, { admin: 200, security: 200, viewer: 403 }],
      ['GET', '/taps', undefined, { admin: 200, security: 200, viewer: 200 }],
      ['GET', '/access-points', undefined, { admin: 200, security: 200, viewer: 200 }],
    ];
    for (const [method, path, body, expected] of cases) {
      expect((await call(method, path, undefined, body)).status, `${method} ${path} anonymous`).toBe(401);
      // viewer and security first: the admin's call changes state (creates, blocks).
      expect((await call(method, path, viewer, body)).status, `${method} ${path} viewer`).toBe(expected.viewer);
      expect((await call(method, path, security, body)).status, `${method} ${path} security`).toBe(expected.security);
      expect((await call(method, path, admin, body)).status, `${method} ${path} admin`).toBe(expected.admin);
    }
    const importRes = await gw.api('/api/v1/people/import?cardFormat=hex', {
      method: 'POST', token: security, headers: { 'content-type': 'text/csv' }, body: 'external_id,name\nA1,甲\n',
    });
    expect(importRes.status).toBe(403);
  });

  it('creates, updates and searches people by name, class, grade, external id and card number in any printed form', async () => {
    const created = await call('POST', '/people', admin, {
      externalId: 'S20259999', name: '金秀贤', role: 'student', grade: '初二', class: '初二(3)班', scheduleGroup: 'boarding',
    });
    expect(created.status).toBe(201);
    const p = created.body as PersonOut;
    expect((await call('POST', '/people', admin, { externalId: 'S20259999', name: '重复', role: 'student' })).status).toBe(409);
    expect((await call('POST', '/people', admin, { externalId: 'bad id/1', name: 'x', role: 'student' })).status).toBe(400);
    // An external id where the path wants the gateway's number: a 400 that says where external ids go.
    const byExternal = await call('GET', '/people/S20259999', security);
    expect(byExternal.status).toBe(400);
    expect(JSON.stringify(byExternal.body)).toContain('GET /api/v1/people?externalId=');
    expect((await call('POST', '/people', admin, { externalId: 'V1', name: 'x', role: 'visitor', security: true })).status).toBe(400);
    // A schedule group the access rules do not know, as the roster import refuses it.
    const unknownGroup = await call('POST', '/people', admin, { externalId: 'S20259998', name: 'x', role: 'student', scheduleGroup: 'nope' });
    expect(unknownGroup.status).toBe(400);
    expect(JSON.stringify(unknownGroup.body)).toMatch(/body\.scheduleGroup: \\"nope\\" is not configured/);
    expect((await call('PATCH', `/people/${p.id}`, admin, { scheduleGroup: 'nope' })).status).toBe(400);
    expect((await call('PATCH', `/people/${p.id}`, admin, { scheduleGroup: 'day' })).status).toBe(200);
    expect((await call('PATCH', `/people/${p.id}`, admin, { scheduleGroup: 'boarding' })).status).toBe(200);

    // Issue the Mifare card whose printed forms are 1446047753 (8H10D) and 0166735958 (reversed).
    expect((await call('POST', `/people/${p.id}/cards`, admin, { uid: '56:30:f0:09', validTo: '2029-07-31' })).status).toBe(201);
    const byForm = async (card: string): Promise<string[]> =>
      ((await call('GET', `/people?card=${encodeURIComponent(card)}`, security)).body as { items: PersonOut[] }).items.map((x) => x.externalId);
    expect(await byForm('5630F009')).toContain('S20259999');
    expect(await byForm('1446047753')).toContain('S20259999');
    expect(await byForm('0166735958')).toContain('S20259999');
    expect(await byForm('9999999999')).not.toContain('S20259999');

    const patched = await call('PATCH', `/people/${p.id}`, admin, { class: '初二(9)班' });
    expect(patched.body).toMatchObject({ class: '初二(9)班', grade: '初二', scheduleGroup: 'boarding', name: '金秀贤' });
    const search = async (q: string): Promise<PersonOut[]> => ((await call('GET', `/people?${q}`, viewer)).body as { items: PersonOut[] }).items;
    expect((await search(`class=${encodeURIComponent('初二(9)班')}`)).map((x) => x.externalId)).toEqual(['S20259999']);
    expect((await search(`q=${encodeURIComponent('秀贤')}`)).map((x) => x.externalId)).toContain('S20259999');
    // A viewer sees that the card is active, not its UID (enough to clone it); the desk sees both.
    const viewerCard = (await search('externalId=S20259999'))[0]?.cards[0];
    expect(viewerCard).toMatchObject({ status: 'active' });
    expect(viewerCard).not.toHaveProperty('uid');
    const deskCard = ((await call('GET', '/people?externalId=S20259999', admin)).body as { items: PersonOut[] }).items[0]?.cards[0];
    expect(deskCard).toMatchObject({ uid: '5630F009', status: 'active' });
    const grade = (await call('GET', `/people?grade=${encodeURIComponent('初三')}&limit=500`, viewer)).body as { total: number };
    expect(grade.total).toBe(140);
  });

  it('issues a card by printed number, refuses a card already held, and runs the lost/block/unblock life cycle', async () => {
    const p = ((await call('POST', '/people', admin, { externalId: 'T9001', name: '赵老师', role: 'staff' })).body as PersonOut);
    // An EM card known only by its 8H10D print: stored by its low 4 bytes.
    const issued = await call('POST', `/people/${p.id}/cards`, admin, { number: '0009334109', format: '8h10d' });
    expect(issued.body).toMatchObject({ uid: '008E6D5D', match: 'suffix', status: 'active' });
    expect((await call('POST', `/people/${p.id}/cards`, admin, { uid: '0A1B2C3D' })).status).toBe(409);
    expect((await call('POST', `/people/${p.id}/cards`, admin, { uid: 'XYZ' })).status).toBe(400);
    // Nor a card that would answer to the same tap as another person's card: the roster import's rule.
    const s9 = (await call('POST', '/people', admin, { externalId: 'S20259999', name: '金秀贤', role: 'student' })).body as PersonOut;
    expect((await call('POST', `/people/${s9.id}/cards`, admin, { uid: '56:30:f0:09' })).status).toBe(201);
    const other = ((await call('POST', '/people', admin, { externalId: 'T9002', name: '钱老师', role: 'staff' })).body as PersonOut);
    const overlapping = [
      { number: '0009334109', format: '8h10d' }, // the same low bytes as T9001's card
      { uid: '06008E6D5D' }, // a whole UID that T9001's partial card already answers to
      { number: '1446047753', format: '8h10d' }, // 5630F009, S20259999's card just issued
    ];
    for (const body of overlapping) {
      const refused = await call('POST', `/people/${other.id}/cards`, admin, body);
      expect(refused.status, JSON.stringify(body)).toBe(409);
      expect(JSON.stringify(refused.body)).toMatch(/T9001|S20259999/);
    }
    expect(((await call('GET', `/people/${other.id}`, viewer)).body as { cards: unknown[] }).cards).toEqual([]);

    expect(((await call('POST', '/cards/008E6D5D/lost', security, {})).body as { status: string }).status).toBe('lost');
    expect(((await call('POST', '/cards/008E6D5D/unblock', security, {})).body as { status: string }).status).toBe('active');
    expect(((await call('POST', '/cards/008E6D5D/block', admin, {})).body as { status: string }).status).toBe('blocked');
    // Blocked by an admin: security cannot lift it.
    expect((await call('POST', '/cards/008E6D5D/unblock', security, {})).status).toBe(403);
    expect(((await call('POST', '/cards/008E6D5D/unblock', admin, {})).body as { status: string }).status).toBe('active');
    expect((await call('GET', '/cards/FFFFFFFF', security)).status).toBe(404);
  });

  it('a tap of the full UID matches a card stored by its low bytes', async () => {
    const p = ((await call('POST', '/people', admin, { externalId: 'T9001', name: '赵老师', role: 'staff' })).body as PersonOut);
    // An EM card known only by its 8H10D print: stored by its low 4 bytes, 008E6D5D.
    expect((await call('POST', `/people/${p.id}/cards`, admin, { number: '0009334109', format: '8h10d' })).status).toBe(201);
    const { nextMessage } = await import('../helpers/gateway.js');
    const client = await gw.mqttClient();
    await client.subscribeAsync('campus/readers/demo-gate-in/decision', { qos: 1 });
    const answer = nextMessage(client, 'campus/readers/demo-gate-in/decision');
    gw.ctx.bus.emit('tap.received', { readerId: 'demo-gate-in', uid: '06008E6D5D', at: Date.now() });
    expect(JSON.parse((await answer).payload.toString())).toMatchObject({ granted: true, person: { name: '赵老师' } });
  });
});

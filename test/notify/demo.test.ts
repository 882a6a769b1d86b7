import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import type { TestGateway } from '../helpers/gateway.js';
import { demoSchool, notifications, settled, tap } from './helpers.js';

// Each test gets its own demo school and clock: the tests tap the same card (S20250001's 0A1B2C3D), and a row, a debit
// or a debounce left by one would change what the next one sees.
let gw: TestGateway;
let client: MqttClient;
let admin: string;
let clock: ManualClock;

describe('guardian messages in the demo school', () => {
  beforeEach(async () => {
    // A Tuesday, 07:20 in Shanghai.
    clock = new ManualClock(Date.parse('2026-09-01T07:20:00+08:00'));
    ({ gw, client, admin } = await demoSchool(clock));
  });
  afterEach(async () => {
    await gw?.close();
  });

  it('refuses an emergency broadcast repeating the last ten minutes\' text, and more than ten broadcasts an hour', async () => {
    const security = await gw.login('security');
    const send = (text: string) => gw.api('/api/v1/notifications/emergency', { method: 'POST', token: security, json: { text } });
    const count = async () => (await notifications(gw, admin, '?event=emergency&limit=500')).length;
    expect((await send('校园临时封闭，请勿来校接送。')).status).toBe(202);
    const queued = await count();
    expect(queued).toBeGreaterThan(0);
    // A double click, a retried request: the same text again is refused, and nothing more is queued.
    const again = await send('校园临时封闭，请勿来校接送。');
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { message: string } }).error.message).toMatch(/security/);
    expect(await count()).toBe(queued);
    // Ten minutes on, the same text may go again (a reminder); another text at any time, up to ten an hour.
    clock.advance(10 * 60_000 + 1);
    expect((await send('校园临时封闭，请勿来校接送。')).status).toBe(202);
    for (let i = 3; i <= 10; i++) expect((await send(`第${i}次通知：请留意学校消息。`)).status).toBe(202);
    const eleventh = await send('第11次通知：请留意学校消息。');
    expect(eleventh.status).toBe(429);
  });

  it('counts lockdown announcements in the hourly budget: toggling the lockdown does not send without end', async () => {
    const security = await gw.login('security');
    const announce = async (): Promise<number> => {
      const plan = (await (await gw.api('/api/v1/notifications/emergency', { token: security })).json()) as { lockdown: { at: number } };
      return (await gw.api('/api/v1/notifications/emergency', { method: 'POST', token: security, json: { text: '学校封闭，请勿来校。', lockdownAt: plan.lockdown.at } })).status;
    };
    const statuses: number[] = [];
    // Each change announced once, as it should be; twelve of them in a few seconds went to every guardian each.
    for (let i = 0; i < 6; i++) {
      expect((await gw.api('/api/v1/lockdown', { method: 'POST', token: security, json: {} })).status).toBe(200);
      clock.advance(1000);
      statuses.push(await announce());
      expect((await gw.api('/api/v1/lockdown', { method: 'DELETE', token: security })).status).toBe(200);
      clock.advance(1000);
      statuses.push(await announce());
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(202));
    expect(statuses.slice(10)).toEqual([429, 429]);
  });

  it('sends one arrival message for 0A1B2C3D at the main gate, and none for a second tap the same day', async () => {
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    const first = await settled(gw, admin, '?person=S20250001');
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ event: 'arrival', channel: 'demo-sink', status: 'sent', to: '138****8000' });

    // Ten minutes later (past the reader's debounce): the same student at the same gate.
    clock.advance(600_000);
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D')).toMatchObject({ granted: true });
    // The second tap's transaction has committed when its decision arrives: had it queued a row, it would be there now.
    const after = await notifications(gw, admin, '?person=S20250001');
    expect(after.map((i) => i.id)).toEqual([first[0]!.id]);
  });

  it('sends low_balance once a day, after the debit that leaves less than ¥10', async () => {
    // ¥50.00 in the demo wallet: ¥35.00 leaves ¥15.00, no message; ¥6.00 more leaves ¥9.00; ¥1.00 more, none again.
    expect(await tap(client, 'demo-canteen-1', '0A1B2C3D', { amount: 3500, seq: 901 })).toMatchObject({ granted: true });
    expect(await notifications(gw, admin, '?person=S20250001&event=low_balance')).toEqual([]);
    expect(await tap(client, 'demo-canteen-1', '0A1B2C3D', { amount: 600, seq: 902 })).toMatchObject({ granted: true });
    const [low] = await settled(gw, admin, '?person=S20250001&event=low_balance');
    expect(low).toMatchObject({ status: 'sent', to: '138****8000' });
    expect(await tap(client, 'demo-canteen-1', '0A1B2C3D', { amount: 100, seq: 903 })).toMatchObject({ granted: true });
    expect((await notifications(gw, admin, '?person=S20250001&event=low_balance')).map((i) => i.id)).toEqual([low!.id]);
  });

  it('tells the consenting guardian that a lost card was used, and suppresses the message to the one without consent', async () => {
    expect(await tap(client, 'demo-gate-in', '0BADCAFE')).toMatchObject({ granted: false, reason: 'card_lost' });
    const items = await settled(gw, admin, '?person=S20250002');
    expect(items.map((i) => [i.event, i.to, i.status, i.reason ?? null]).sort()).toEqual([
      ['card_lost', '137****7000', 'suppressed', 'no_consent'],
      ['card_lost', '139****9000', 'sent', null],
    ]);
  });

  it('tells a guardian once a day that the card was reported lost, however often it is reported and found again', async () => {
    // An attacker review: 30 rounds of lost and unblock by a security user sent 30 texts to one guardian.
    const security = await gw.login('security');
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      expect((await gw.api('/api/v1/cards/0A1B2C3D/lost', { method: 'POST', token: security, json: {} })).status).toBe(200);
      expect((await gw.api('/api/v1/cards/0A1B2C3D/unblock', { method: 'POST', token: security, json: {} })).status).toBe(200);
    }
    const items = await settled(gw, admin, '?person=S20250001&event=card_lost');
    expect(items.map((i) => [i.to, i.status])).toEqual([['138****8000', 'sent']]);
  });

  it('sends a test message to one consenting guardian, and none to one without consent', async () => {
    const list = async (id: string) => ((await (await gw.api(`/api/v1/people/${id}/guardians`, { token: admin })).json()) as { guardians: { id: number; consent: boolean }[] }).guardians;
    const [li] = await list('S20250001');
    const res = await gw.api('/api/v1/notifications/test', { method: 'POST', token: admin, json: { externalId: 'S20250001', guardianId: li!.id } });
    expect(res.status).toBe(202);
    const [sent] = await settled(gw, admin, '?person=S20250001&event=test');
    expect(sent).toMatchObject({ status: 'sent', to: '138****8000' });
    const wangJun = (await list('S20250002')).find((g) => !g.consent)!;
    await gw.api('/api/v1/notifications/test', { method: 'POST', token: admin, json: { externalId: 'S20250002', guardianId: wangJun.id } });
    const [refused] = await settled(gw, admin, '?person=S20250002&event=test');
    expect(refused).toMatchObject({ status: 'suppressed', reason: 'no_consent', to: '137****7000' });
    // A guardian of another student is not found under this one.
    expect((await gw.api('/api/v1/notifications/test', { method: 'POST', token: admin, json: { externalId: 'S20250001', guardianId: wangJun.id } })).status).toBe(404);
  });

  it('shows guardians masked, with the whole number only in the edit view, and refuses non-admins', async () => {
    const masked = (await (await gw.api('/api/v1/people/S20250001/guardians', { token: admin })).json()) as { guardians: { phone: string; consent: boolean }[] };
    expect(masked.guardians).toEqual([expect.objectContaining({ phone: '138****8000', consent: true })]);
    const full = (await (await gw.api('/api/v1/people/S20250001/guardians?reveal=true', { token: admin })).json()) as { guardians: { phone: string }[] };
    expect(full.guardians[0]!.phone).toBe('13800138000');
    const security = await gw.login('security');
    expect((await gw.api('/api/v1/people/S20250001/guardians', { token: security })).status).toBe(403);
    expect((await gw.api('/api/v1/notifications', { token: security })).status).toBe(403);
  });
});

/**
 * door_opened_remotely (module.ts) tells an open-door the gateway did not send from its own by the time the controller
 * logged it. A school in a zone with summer time: on the day the clocks change, the controller's local time stamps
 * must still read as the instant the gateway sent its open at. And how many doors one user may open remotely a minute.
 */
import { afterEach, expect, it } from 'vitest';
import type { FakeUhppote } from './fake-uhppote.js';
import { controllers, controllersConfig, settled, startFakes, startTestGateway, waitFor, type TestGateway } from './helpers.js';

let a: FakeUhppote | undefined;
let b: FakeUhppote | undefined;
let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  await a?.stop();
  await b?.stop();
  gw = a = b = undefined;
});

type AlertView = { type: string; data: Record<string, unknown> };

it.each([
  ['the clocks go forward', 'Europe/London', '2026-03-29T11:00:00Z'],
  ['the clocks go back', 'America/New_York', '2026-11-01T17:00:00Z'],
])('a guard opening a gate from the console on the day %s raises no door_opened_remotely', async (_day, timezone, instant) => {
  [a, b] = await startFakes();
  // The gateway's clock on that afternoon; the controllers are set to its local time when they come online.
  const offset = Date.parse(instant) - Date.now();
  gw = await startTestGateway({ demo: true, clock: { now: () => Date.now() + offset }, config: { school: { timezone }, ...controllersConfig(a, b) } });
  const token = await gw.login('admin');
  await settled(gw, token);
  const res = await gw.api('/api/v1/access-points/main-gate/open', { method: 'POST', token, json: { reason: 'delivery', readerId: 'ctl-a-door1' } });
  expect(res.status).toBe(200);
  await waitFor(() => a!.events.at(-1)?.reason === 44, 2000, 5);
  await waitFor(async () => (await controllers(gw!, token)).find((c) => c.id === 'ctl-a')!.events.lastIndex === a!.lastIndex, 5000, 20);
  // The read-back has been judged (the alert is raised as the entry is taken); a moment for the event stream anyway.
  await new Promise((r) => setTimeout(r, 200));
  const alerts = ((await (await gw.api('/api/v1/alerts?limit=200', { token })).json()) as { items: AlertView[] }).items;
  expect(alerts.filter((x) => x.type === 'door_opened_remotely')).toEqual([]);
});

it('a user past controllers.remoteOpensPerMinute is refused with 429 and Retry-After, and no open-door reaches the controller; another user still opens', async () => {
  // A stolen session or a script opened every gate as often as it liked: each open was one UDP packet away.
  [a, b] = await startFakes();
  gw = await startTestGateway({ demo: true, config: controllersConfig(a, b, { remoteOpensPerMinute: 3 }) });
  const admin = await gw.login('admin');
  const security = await gw.login('security');
  await settled(gw, admin);
  const open = (token: string, readerId: string): Promise<Response> =>
    gw!.api('/api/v1/access-points/main-gate/open', { method: 'POST', token, json: { reason: 'incident', readerId } });
  // The limit is the user's across all doors: three opens at two controllers.
  for (const r of ['ctl-a-door1', 'ctl-b-door1', 'ctl-a-door2']) expect((await open(admin, r)).status).toBe(200);
  const sent = (): number => (a!.requests.get('open-door') ?? 0) + (b!.requests.get('open-door') ?? 0);
  expect(sent()).toBe(3);
  const refused = await open(admin, 'ctl-a-door1');
  expect(refused.status).toBe(429);
  // One open comes back every 60/3 = 20 s.
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(20);
  const body = (await refused.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('rate_limited');
  expect(body.error.message).toMatch(/controllers\.remoteOpensPerMinute/);
  // Give a packet that was sent time to arrive before saying none was.
  await new Promise((r) => setTimeout(r, 200));
  expect(sent()).toBe(3);
  expect((await open(security, 'ctl-a-door1')).status).toBe(200);
  await waitFor(() => sent() === 4, 2000, 5);
  expect(await gw.api('/metrics', { token: admin }).then((r) => r.text())).toMatch(/^campus_controller_remote_opens_refused_total 1$/m);
});

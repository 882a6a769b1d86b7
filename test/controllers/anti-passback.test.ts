/**
 * Anti-passback handed to the controller: with a gate's in and out readers on doors 1 and 2 of one controller, the
 * gateway sets the controller's own mode 1 ((1:2);(3:4)), so it refuses a card passing in twice by itself; a
 * controller whose gate doors no mode fits gets mode 0 (a mode left on it from before is removed) and a config note.
 * After the controller drops off the network and comes back with its mode reset, the gateway sets it again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoConfig } from '../../config/demo.js';
import { controllerScheduleNotes } from '../../drivers/controllers/uhppote/plan.js';
import { REASON } from '../../drivers/controllers/uhppote/responses.js';
import { FakeUhppote } from './fake-uhppote.js';
import { controllers, settled, startFakes, startTestGateway, waitFor, wg26, type TestGateway } from './helpers.js';

let a: FakeUhppote;
let b: FakeUhppote;
let c: FakeUhppote;
let gw: TestGateway;
let token: string;
let card: number;

// Fresh controllers and gateway per test: a swipe leaves the card "in" on the controller, and the mode test and the
// reconnect test change the controller's mode, so a shared fake carried one test's passage into the next.
describe('controller anti-passback', () => {
  beforeEach(async () => {
    [a, b] = await startFakes();
    b.antiPassback = 2; // left on from an earlier configuration
    // Firmware without the anti-passback functions: silent to them, and still a working controller.
    c = new FakeUhppote({ serial: 423187757 });
    c.silentTo.add('get-anti-passback');
    c.silentTo.add('set-anti-passback');
    await c.start();
    gw = await startTestGateway({
      demo: true,
      config: {
        // The demo's east gate (anti-passback) on ctl-a's doors 1 (in) and 2 (out), and no other reader of it.
        readers: demoConfig.readers!.filter((r) => r.accessPoint !== 'east-gate'),
        access: {
          accessPoints: [
            ...demoConfig.access!.accessPoints!,
            { id: 'north-gate', name: 'North gate', kind: 'gate', antiPassback: true },
            { id: 'south-gate', name: 'South gate', kind: 'gate', antiPassback: true },
          ],
        },
        controllers: {
          listen: '127.0.0.1:0',
          timeoutMs: 150,
          retries: 1,
          pollIntervalMs: 200,
          devices: [
            { id: 'ctl-a', serial: a.serial, address: a.address, doors: { '1': { accessPoint: 'east-gate', direction: 'in' }, '2': { accessPoint: 'east-gate', direction: 'out' } } },
            // In at 2 and out at 4: on the same side of every mode that has both.
            { id: 'ctl-b', serial: b.serial, address: b.address, doors: { '2': { accessPoint: 'north-gate', direction: 'in' }, '4': { accessPoint: 'north-gate', direction: 'out' } } },
            { id: 'ctl-c', serial: c.serial, address: c.address, doors: { '1': { accessPoint: 'south-gate', direction: 'in' }, '2': { accessPoint: 'south-gate', direction: 'out' } } },
          ],
        },
      },
    });
    token = await gw.login('admin');
    await settled(gw, token);
    // A staff card: staff have no east-gate schedule, so the controller lets them through at any hour.
    const row = gw.ctx.db.prepare("SELECT c.uid FROM cards c JOIN persons p ON p.id = c.person_id WHERE c.status = 'active' AND p.role = 'staff' LIMIT 1").get() as { uid: string };
    card = wg26(row.uid);
  });
  afterEach(async () => {
    await gw?.close();
    await a?.stop();
    await b?.stop();
    await c?.stop();
  });

  it('sets mode 1 on the controller whose doors are the gate\'s in and out, and mode 0 where no mode fits', async () => {
    expect(a.antiPassback).toBe(1);
    expect(b.antiPassback).toBe(0);
    const list = await controllers(gw, token);
    // ctl-c did not answer get/set anti-passback: online all the same (settled above), its mode unknown.
    expect(list.map((x) => [x.id, x.state, x.antiPassback])).toEqual([['ctl-a', 'online', 1], ['ctl-b', 'online', 0], ['ctl-c', 'online', null]]);
    expect(c.requests.get('get-card-at-index') ?? c.requests.get('get-cards')).toBeGreaterThan(0);
    const aps = new Map(gw.config.access.accessPoints.map((x) => [x.id, x]));
    const notes = controllerScheduleNotes(gw.config.controllers.devices, aps, gw.config.readers);
    expect(notes.filter((n) => n.includes('anti-passback'))).toEqual([
      "controllers.devices[1] (ctl-b): the gateway's anti-passback is not applied by the controller (its own anti-passback stays off): door 2 in of north-gate, door 4 out of north-gate fit none of the controller's modes ((1:2);(3:4), (1,3):(2,4), 1:(2,3), 1:(2,3,4): in doors on one side, out doors on the other, no other wired door in the group); the controller lets a card pass the same way twice (it decides alone, the gateway only records the pass)",
    ]);
  });

  it('the controller refuses a card passing in twice by itself, and the tap says anti_passback', async () => {
    expect(a.card(card)?.doors[0]).toBe(1);
    expect(a.swipe(card, 1).granted).toBe(true);
    const second = a.swipe(card, 1);
    expect([second.granted, second.reason]).toEqual([false, REASON.deniedAntiPassback]);
    expect(a.swipe(card, 2).granted).toBe(true);
    expect(a.swipe(card, 1).granted).toBe(true);
    const tap = await waitFor(async () => {
      const items = ((await (await gw.api('/api/v1/taps?readerId=ctl-a-door1&limit=50', { token })).json()) as { items: { seq: number | null; granted: boolean; reason: string }[] }).items;
      return items.find((t) => t.seq === second.index) ?? null;
    }, 5000, 20);
    expect([tap.granted, tap.reason]).toEqual([false, 'anti_passback']);
  });

  it('sets the mode again when the controller comes back without it', async () => {
    a.unreachable = true;
    await waitFor(async () => (await controllers(gw, token)).find((c) => c.id === 'ctl-a')!.state === 'offline', 10_000, 20);
    a.antiPassback = 0; // reset at the controller while it was away
    a.unreachable = false;
    await waitFor(async () => (await controllers(gw, token)).find((c) => c.id === 'ctl-a')!.state === 'online', 10_000, 20);
    expect(a.antiPassback).toBe(1);
    expect(a.swipe(card, 1).granted).toBe(true);
    expect(a.swipe(card, 1).granted).toBe(false);
  });
});

/**
 * A device on the controllers' LAN answering the gateway's card-list requests for the controller (its address and port
 * forged, racing the controller's own reply: FakeUhppote.forgedReplies, sent from the controller's socket ahead of its
 * own answer). The protocol has no authentication; a reply believed from the forger makes the gateway's copy of the
 * controller's list (its mirror) wrong until the next full read, which the forger can race again.
 */
import type { Socket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DOOR_MODE, encodeRequest, type CardRecord } from '../../drivers/controllers/uhppote/messages.js';
import { decodeResponse } from '../../drivers/controllers/uhppote/responses.js';
import { FakeUhppote } from './fake-uhppote.js';
import { controllers, startHostileLan, stopHostileLan, waitFor, wg26, type TestGateway } from './helpers.js';

let a: FakeUhppote;
let b: FakeUhppote;
let gw: TestGateway;
let token: string;
let attacker: Socket;

const ctlA = async () => (await controllers(gw, token)).find((c) => c.id === 'ctl-a')!;
const metric = async (name: string): Promise<string> =>
  (await (await gw.api('/metrics', { token })).text()).split('\n').filter((l) => l.startsWith(name)).join('\n');

describe('card-list replies forged in a race with the controller', () => {
  beforeEach(async () => {
    ({ a, b, gw, token, attacker } = await startHostileLan());
  });
  afterEach(() => stopHostileLan({ a, b, gw, attacker }));

  it('a put-card answered "ok" by a forger while the controller refuses it is not taken as written', async () => {
    const uid = (gw.ctx.db.prepare("SELECT uid FROM cards WHERE status = 'active' ORDER BY uid LIMIT 1").get() as { uid: string }).uid;
    expect((await gw.api(`/api/v1/cards/${uid}/lost`, { method: 'POST', token, json: {} })).status).toBe(200);
    await waitFor(() => a.card(wg26(uid)) === undefined, 5000, 10);
    // Found again: the put goes at once. The controller refuses it (its card store full), and the forger answers
    // "ok" first: believed, the API said every card in sync while the child was refused at the gate.
    a.refusePuts = true;
    a.forgedReplies.push({ type: 'put-card', ok: true });
    expect((await gw.api(`/api/v1/cards/${uid}/unblock`, { method: 'POST', token, json: {} })).status).toBe(200);
    await waitFor(() => a.forgedReplies.length === 0, 5000, 10);
    const c = await waitFor(async () => {
      const x = await ctlA();
      return !x.sync.running ? x : null;
    }, 5000, 20);
    expect(a.card(wg26(uid))).toBeUndefined();
    expect(c.sync.lastError ?? 'none').toMatch(/forged|two different replies/);
    expect(c.sync.pending).toBeGreaterThan(0);
    expect(await metric('campus_controller_requests_total{controller="ctl-a",outcome="forged"}')).toMatch(/ [1-9]\d*$/);
    // The store takes writes again: the card is written by the next run (asked for here; the status polls retry it
    // after the back-off).
    a.refusePuts = false;
    expect((await gw.api('/api/v1/controllers/ctl-a/sync', { method: 'POST', token })).status).toBe(202);
    await waitFor(() => a.card(wg26(uid)) !== undefined, 10_000, 20);
  });

  it('a card record changed over the LAN is not hidden by a get-card-at-index reply forged in a race with the controller', async () => {
    // A child's card given every door at any time, by one put-card from a laptop; at the next full read the forger
    // answers that slot's read with the record the gateway wrote. Believed, the read found nothing to do, the sync
    // said in sync, and the card kept every door until a full read the forger did not race.
    const planned: CardRecord = { ...a.cards()[0]!, doors: [...a.cards()[0]!.doors] as CardRecord['doors'] };
    const tampered: CardRecord = { ...planned, from: '2000-01-02', doors: [1, 1, 1, 1] };
    attacker.send(encodeRequest(a.serial, { type: 'put-card', record: tampered }), a.port, '127.0.0.1');
    await waitFor(() => a.card(planned.card)?.from === tampered.from, 2000, 5);
    a.forgedReplies.push({ type: 'get-card-at-index', record: planned });
    const runsBefore = a.requests.get('get-card-at-index') ?? 0;
    expect((await gw.api('/api/v1/controllers/ctl-a/sync', { method: 'POST', token })).status).toBe(202);
    await waitFor(() => a.forgedReplies.length === 0 && (a.requests.get('get-card-at-index') ?? 0) > runsBefore, 5000, 10);
    const c = await waitFor(async () => {
      const x = await ctlA();
      return !x.sync.running ? x : null;
    }, 10_000, 20);
    // The full read was not believed: the run failed and says why.
    expect(c.sync.lastError ?? 'none').toMatch(/forged|two different replies/);
    expect(await metric('campus_controller_requests_total{controller="ctl-a",outcome="forged"}')).toMatch(/ [1-9]\d*$/);
    // The forger gone, the next full read finds the record and writes the gateway's.
    expect((await gw.api('/api/v1/controllers/ctl-a/sync', { method: 'POST', token })).status).toBe(202);
    await waitFor(() => a.card(planned.card)?.from === planned.from, 10_000, 20);
    expect(a.card(planned.card)).toEqual(planned);
    // The run ends once its writes' verdicts are in (20 ms after the last).
    const after = await waitFor(async () => {
      const x = await ctlA();
      return !x.sync.running ? x : null;
    }, 5000, 20);
    expect(after.sync.lastError).toBeNull();
  });

  it('a card put on a locked-down controller over the LAN is not hidden by get-cards replies forged in a race with the controller', async () => {
    const STUDENT = '0A1B2C3D';
    const lockdownOf = async (): Promise<string> => ((await ctlA()) as unknown as { lockdown: string }).lockdown;
    expect((await gw.api('/api/v1/lockdown', { method: 'POST', token, json: { reason: 'drill' } })).status).toBe(200);
    await waitFor(async () => a.card(wg26(STUDENT)) === undefined && (await lockdownOf()) === 'applied', 10_000, 20);
    const count = await new Promise<number>((resolve) => {
      attacker.once('message', (msg) => {
        const { response } = decodeResponse(msg);
        if (response.type === 'get-cards') resolve(response.count);
      });
      attacker.send(encodeRequest(a.serial, { type: 'get-cards' }), a.port, '127.0.0.1');
    });
    // The student's card put back with every door, and each status poll's count read answered first with the count
    // from before: believed, the count never changed, the console said applied and the gate opened for the card.
    for (let i = 0; i < 20; i++) a.forgedReplies.push({ type: 'get-cards', count });
    attacker.send(encodeRequest(a.serial, { type: 'put-card', record: { card: wg26(STUDENT), from: '2000-01-01', to: '2099-12-31', doors: [1, 1, 1, 1], pin: 0 } }), a.port, '127.0.0.1');
    await waitFor(() => a.card(wg26(STUDENT)) !== undefined, 2000, 5);
    // The forged count is not believed: the doors go normally closed (no card opens them) and the list is read again;
    // the forger racing the sync's own count read too, the read fails and waits for the forger to stop.
    await waitFor(async () => a.doors[0]!.mode === DOOR_MODE.normallyClosed && (await lockdownOf()) !== 'applied', 5000, 10);
    expect(a.swipe(wg26(STUDENT), 1).granted).toBe(false);
    a.forgedReplies.splice(0);
    // The retry comes after the sync's back-off (a minute); asked for here.
    await waitFor(async () => !(await ctlA()).sync.running, 5000, 20);
    expect((await gw.api('/api/v1/controllers/ctl-a/sync', { method: 'POST', token })).status).toBe(202);
    await waitFor(() => a.card(wg26(STUDENT)) === undefined, 10_000, 20);
    expect(a.swipe(wg26(STUDENT), 1).granted).toBe(false);
    await waitFor(async () => a.doors[0]!.mode === DOOR_MODE.controlled && (await lockdownOf()) === 'applied', 10_000, 20);
  });
});

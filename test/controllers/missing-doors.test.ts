/**
 * A door the config names that the controller does not have (a 2-door controller configured with a door 4): its
 * get-door-control answer is no door (mode 0). It was a warning, a door_mode_changed alert and a set the controller
 * could not take at every status poll, forever; now one warning, no set, and the door shown missing in the API.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeUhppote } from './fake-uhppote.js';
import { controllersConfig, settled, startFakes, startTestGateway, waitFor, type TestGateway } from './helpers.js';

let a: FakeUhppote;
let b: FakeUhppote;
let gw: TestGateway;
let token: string;

interface DoorView {
  door: number;
  readerId: string;
  missing: boolean;
}

describe('a configured door the controller does not have', () => {
  beforeEach(async () => {
    [a, b] = await startFakes(2);
    const config = controllersConfig(a, b);
    const devices = (config.controllers as { devices: { id: string; doors: Record<string, unknown> }[] }).devices;
    devices[1]!.doors = { '1': { accessPoint: 'main-gate', direction: 'in' }, '4': { accessPoint: 'main-gate', direction: 'out' } };
    gw = await startTestGateway({ demo: true, config });
    token = await gw.login('admin');
    await settled(gw, token);
  });
  afterEach(async () => {
    await gw?.close();
    await a?.stop();
    await b?.stop();
  });

  it('is read at each poll but never set, raises no door_mode_changed, and is shown missing', async () => {
    const polls = async (n: number): Promise<void> => {
      const until = (b.requests.get('get-status') ?? 0) + n;
      await waitFor(() => (b.requests.get('get-status') ?? 0) >= until, 10_000, 20);
    };
    await polls(2);
    const sets = b.requests.get('set-door-control') ?? 0;
    await polls(5);
    // Before: a set of door 4 at every poll, answered "mode 0" each time (a failed set).
    expect(b.requests.get('set-door-control') ?? 0).toBe(sets);
    expect(sets).toBe(0);
    const alerts = ((await (await gw.api('/api/v1/alerts?limit=200', { token })).json()) as { items: { type: string }[] }).items;
    expect(alerts.filter((x) => x.type === 'door_mode_changed')).toEqual([]);
    const ctl = ((await (await gw.api('/api/v1/controllers', { token })).json()) as { items: { id: string; doors: DoorView[] }[] }).items.find((c) => c.id === 'ctl-b')!;
    expect(ctl.doors.map((d) => [d.door, d.missing])).toEqual([[1, false], [4, true]]);
    // Its doors that exist are still watched: door 1 set open over the LAN is set back.
    b.doors[0]!.mode = 1;
    await waitFor(() => b.doors[0]!.mode === 3, 5000, 10);
  });
});

describe('a door the controller has, found in mode 0 at the start', () => {
  beforeEach(async () => {
    [a, b] = await startFakes();
    // Set over the LAN before the gateway (re)started: a packet from a laptop, and the mode a controller answers for
    // a door it does not have.
    b.doors[0]!.mode = 0;
    gw = await startTestGateway({ demo: true, config: controllersConfig(a, b) });
    token = await gw.login('admin');
  });
  afterEach(async () => {
    await gw?.close();
    await a?.stop();
    await b?.stop();
  });

  it('is not taken for missing (every controller has its door 1): it is set back', async () => {
    // Before, door 1 was shown missing and never set, for as long as the gateway ran: the gate in whatever mode 0
    // means to the controller, with no alert.
    await waitFor(() => b.doors[0]!.mode === 3, 5000, 10);
    const ctl = ((await (await gw.api('/api/v1/controllers', { token })).json()) as { items: { id: string; doors: DoorView[] }[] }).items.find((c) => c.id === 'ctl-b')!;
    expect(ctl.doors.every((d) => !d.missing)).toBe(true);
  });
});

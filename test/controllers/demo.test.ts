/**
 * The demo school's door controller (config/demo.ts): simulated at the protocol level on loopback, so `npm start`
 * shows what the gateway does with the controllers a school already owns. It comes online with the lab door's card
 * list, a guard opens the door from the API, and the swipes it makes by itself arrive as taps with its own decision.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { demoConfig } from '../../config/demo.js';
import { controllers, settled, startTestGateway, waitFor, type TestGateway } from './helpers.js';

interface TapView {
  readerId: string;
  granted: boolean;
  reason: string;
  person: { externalId: string } | null;
}

const LAB_DOOR = demoConfig.controllers!.devices![0]!;

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

describe("the demo school's door controller", () => {
  it('comes online holding the cards of the lab door, and a guard opens that door from the API', async () => {
    gw = await startTestGateway({ demo: true, simulatedControllers: true });
    const token = await gw.login('admin');
    const [lab] = await settled(gw, token);
    expect(lab).toMatchObject({ id: 'sim-lab-door', state: 'online', sync: { lastError: null } });
    expect(lab!.sync.planned).toBeGreaterThan(400); // the demo school's students and staff
    expect(lab!.sync.inSync).toBe(lab!.sync.planned);
    // Its door's reader has a name, as the other readers do (a walkthrough found it listed as `sim-lab-door-door1`).
    const aps = ((await (await gw.api('/api/v1/access-points?taps=0', { token })).json()) as { items: { id: string; readers: { id: string; name: unknown }[] }[] }).items;
    expect(aps.find((a) => a.id === 'lab-1')!.readers).toEqual([expect.objectContaining({ id: 'sim-lab-door-door1', name: { zh: '化学实验室门', ko: '화학 실험실 문', en: 'Chemistry lab door' } })]);

    const before = lab!.events.lastIndex ?? 0;
    const guard = await gw.login('security');
    const res = await gw.api('/api/v1/access-points/lab-1/open', { method: 'POST', token: guard, json: { reason: 'teacher locked out' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ results: [{ readerId: 'sim-lab-door-door1', ok: true }] });
    // The controller logged the remote open and pushed it; the gateway's read position moves past it.
    await waitFor(async () => ((await controllers(gw!, token))[0]!.events.lastIndex ?? 0) > before, 5000, 50);
  });

  it('someone swipes at the lab door now and then: a tap with the controller’s decision, known cards and unknown ones', async () => {
    gw = await startTestGateway({
      demo: true,
      simulatedControllers: true,
      config: { controllers: { devices: [{ ...LAB_DOOR, simulation: { swipeEveryS: 0.3 } }] } },
    });
    const token = await gw.login('admin');
    const taps = await waitFor(async () => {
      const items = ((await (await gw!.api('/api/v1/taps?readerId=sim-lab-door-door1&limit=500', { token })).json()) as { items: TapView[] }).items;
      return items.some((t) => t.person) && items.some((t) => !t.person) ? items : null;
    }, 20_000, 200);
    for (const t of taps) expect(t.reason).toMatch(/^[a-z_]+$/);
    // A card the controller does not hold is refused, and the gateway says why.
    expect(taps.filter((t) => !t.person).every((t) => !t.granted)).toBe(true);
  });
});

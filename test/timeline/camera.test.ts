/**
 * Camera events in the timeline, from a protocol-level fake ONVIF camera: motion at night is kept (camera_events) and
 * shown with its intrusion alert and that alert's snapshot; the state a camera reports on (re)subscription is not an
 * event; a viewer gets the alert without its pictures.
 */
import { describe, expect, it } from 'vitest';
import { waitFor, type TestGateway } from '../helpers/gateway.js';
import { cameraFixtures, USERS } from '../cameras/helpers.js';

const { device, playground } = cameraFixtures();

interface Item {
  kind: string;
  cameraId?: string;
  event?: string;
  alert?: { type: string; snapshotIds: string[] };
}
const login = (gw: TestGateway, username: string): Promise<string> => gw.login(username, USERS.find((u) => u.username === username)!.password);
const timeline = async (gw: TestGateway, token: string, q = ''): Promise<{ items: Item[]; snapshotsHidden: boolean }> =>
  (await (await gw.api(`/api/v1/timeline?limit=200${q}`, { token })).json()) as { items: Item[]; snapshotsHidden: boolean };

describe('camera events in the timeline', () => {
  it('keeps night motion with its intrusion alert and picture, but not the state sent on subscription', async () => {
    const d = await device();
    // 08:00 on a Tuesday in Shanghai, before the playground's hours.
    const { gw } = await playground(d.port);
    const admin = await login(gw, 'admin');
    await waitFor(async () => ((await (await gw.api('/api/v1/cameras/cam-yard', { token: admin })).json()) as { state: string }).state === 'online', 5_000);
    await waitFor(() => d.activeSubscriptions() > 0, 5_000);

    d.emit('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' }, 'Initialized');
    d.emit('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' });
    const items = await waitFor(async () => {
      const page = await timeline(gw, admin, '&camera=cam-yard');
      const alert = page.items.find((i) => i.kind === 'alert' && i.alert?.type === 'intrusion');
      return alert && alert.alert!.snapshotIds.length === 1 ? page.items : null;
    }, 5_000);
    const events = items.filter((i) => i.kind === 'camera');
    expect(events).toEqual([expect.objectContaining({ cameraId: 'cam-yard', event: 'motion' })]);

    // Another camera's filter does not show it; a viewer sees the alert without its picture.
    expect((await timeline(gw, admin, '&camera=cam-other')).items.filter((i) => i.kind !== 'lockdown')).toEqual([]);
    const viewer = await timeline(gw, await login(gw, 'teacher'), '&camera=cam-yard');
    expect(viewer.snapshotsHidden).toBe(true);
    expect(viewer.items.find((i) => i.kind === 'alert')?.alert?.snapshotIds).toEqual([]);
  });
});

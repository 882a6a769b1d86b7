import { afterEach, describe, expect, it } from 'vitest';
import { demoConfig } from '../../config/demo.js';
import type { Alert } from '../../gateway/alerts/alerts.js';
import type { CameraView } from '../../gateway/cameras/module.js';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { fastCameras } from './helpers.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

describe('demo cameras', () => {
  it('lists the simulated cameras, serves generated JPEGs, sends motion, and one drops out and comes back', async () => {
    gw = await startTestGateway({
      demo: true,
      config: {
        nodeRed: { enabled: false },
        cameras: {
          ...fastCameras,
          cameras: [
            ...(demoConfig.cameras?.cameras ?? []),
            {
              id: 'cam-flappy',
              name: 'Flappy',
              host: 'simulated',
              simulated: true,
              zones: ['roof'],
              simulation: { motionEveryS: 1, offlineEveryS: 4, offlineForS: 2 },
            },
          ],
        },
      },
    });
    const token = await gw.login('security');
    const list = async (): Promise<CameraView[]> => ((await (await gw!.api('/api/v1/cameras', { token })).json()) as { items: CameraView[] }).items;
    const ids = (await list()).map((c) => c.id);
    expect(ids).toEqual(['cam-main-gate', 'cam-east-gate', 'cam-canteen', 'cam-playground', 'cam-flappy']);
    await waitFor(async () => (await list()).find((c) => c.id === 'cam-main-gate')?.state === 'online', 5_000);

    const snap = await gw.api('/api/v1/cameras/cam-main-gate/snapshot?fresh=1', { token });
    expect(snap.status).toBe(200);
    const body = Buffer.from(await snap.arrayBuffer());
    expect(body.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(body.length).toBeGreaterThan(1_000);

    await waitFor(async () => (await list()).find((c) => c.id === 'cam-flappy')?.lastEvent?.kind === 'motion', 10_000);
    const alertsOf = async (): Promise<Alert[]> =>
      ((await (await gw!.api('/api/v1/alerts?type=camera_offline', { token })).json()) as { items: Alert[] }).items;
    await waitFor(async () => (await alertsOf()).some((a) => a.source === 'camera:cam-flappy'), 10_000);
    await waitFor(async () => (await alertsOf()).some((a) => a.source === 'camera:cam-flappy' && a.status === 'resolved'), 10_000);
  });
});

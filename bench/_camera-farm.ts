/**
 * Many fake ONVIF cameras (the tests' protocol-level fake: real SOAP over HTTP, PullPoint subscriptions, digest and
 * WS-Security auth) in one process, for `cameras`; several farms run beside the gateway, never inside it.
 * Each camera binds port 0; `start` answers with the ports they got.
 *
 * IPC (each answered with the same `id`): `{ cmd: 'start', count }` → `{ ports }`; `{ cmd: 'emit', index }` a motion
 * event; `{ cmd: 'mode', index, mode }` ('normal' | 'hang': requests are taken and never answered); `{ cmd: 'down',
 * index }` / `{ cmd: 'up', index }` pull the plug and put it back (same port); `{ cmd: 'stats' }` →
 * `{ subscriptions, created, renewals, requests, byAction }`.
 */
import { FakeOnvifDevice, type FakeMode } from '../test/cameras/fake-onvif/device.js';

interface Command {
  id: number;
  cmd: 'start' | 'emit' | 'mode' | 'down' | 'up' | 'stats';
  count?: number;
  index?: number;
  mode?: FakeMode;
}

// Cameras hold an idle PullMessages for a while before answering empty; 10 s is a common firmware's figure.
const PULL_HOLD_MS = Number(process.env.BENCH_CAMERA_PULL_HOLD_MS ?? 10_000);
const devices: FakeOnvifDevice[] = [];

async function handle(m: Command): Promise<Record<string, unknown>> {
  const d = (): FakeOnvifDevice => {
    const dev = devices[m.index ?? -1];
    if (!dev) throw new Error(`no camera ${m.index}`);
    return dev;
  };
  switch (m.cmd) {
    case 'start':
      for (let i = 0; i < (m.count ?? 0); i++) {
        const dev = new FakeOnvifDevice({ pullHoldMs: PULL_HOLD_MS });
        await dev.start();
        devices.push(dev);
      }
      return { ports: devices.map((x) => x.port) };
    case 'emit':
      d().emit('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' });
      return {};
    case 'mode':
      d().mode = m.mode ?? 'normal';
      return {};
    case 'down':
      await d().stop();
      return {};
    case 'up':
      await d().start();
      return {};
    case 'stats': {
      let requests = 0;
      const byAction: Record<string, number> = {};
      for (const x of devices) {
        for (const [action, n] of x.stats.actions) {
          requests += n;
          byAction[action] = (byAction[action] ?? 0) + n;
        }
      }
      return {
        byAction,
        subscriptions: devices.reduce((n, x) => n + x.activeSubscriptions(), 0),
        created: devices.reduce((n, x) => n + x.stats.subscriptionsCreated, 0),
        renewals: devices.reduce((n, x) => n + x.stats.renewals, 0),
        requests,
      };
    }
  }
}

process.on('message', (m: Command) => {
  handle(m).then(
    (r) => process.send?.({ id: m.id, ...r }),
    (err: unknown) => process.send?.({ id: m.id, error: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });

import { afterEach } from 'vitest';
import type { CamerasConfig } from '../../config/cameras.js';
import type { GatewayConfigInput } from '../../config/schema.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { FakeOnvifDevice } from './fake-onvif/device.js';

/** Short intervals so the health and event loops run in test time. */
export const fastCameras: Partial<CamerasConfig> = {
  pollIntervalMs: 150,
  offlineAfterFailures: 2,
  onlineAfterSuccesses: 1,
  requestTimeoutMs: 500,
  pullTimeoutMs: 3_000,
  renewBeforeMs: 500,
  eventRetryMinMs: 50,
  eventRetryMaxMs: 300,
  snapshotTimeoutMs: 1_000,
  presetSettleMs: 10,
};

export const USERS = [
  { username: 'admin', password: 'admin-password-1', role: 'admin' as const },
  { username: 'guard', password: 'guard-password-1', role: 'security' as const },
  { username: 'teacher', password: 'teacher-password-1', role: 'viewer' as const },
];

/** A real gateway (not the demo school) with only what the test configures, Node-RED off. */
export async function cameraGateway(cameras: GatewayConfigInput['cameras'], extra: GatewayConfigInput = {}): Promise<TestGateway> {
  return startTestGateway({
    demo: false,
    users: USERS,
    config: {
      nodeRed: { enabled: false },
      alerts: { dedupCooldownS: 60 },
      ...extra,
      cameras: { ...fastCameras, ...cameras },
    },
  });
}

/** 2026-09-01 00:00 UTC: 08:00 on a Tuesday in Shanghai, an hour before the playground opens. */
export const BEFORE_PLAYGROUND_HOURS = Date.UTC(2026, 8, 1, 0, 0, 0);

/**
 * A real gateway whose camera `cam-yard` (the fake camera on `port`) watches the playground, open 09:00–17:00 on
 * school days, on a clock at BEFORE_PLAYGROUND_HOURS: motion there is an intrusion until the test moves the clock.
 */
export async function playgroundGateway(port: number): Promise<{ gw: TestGateway; clock: ManualClock }> {
  const clock = new ManualClock(BEFORE_PLAYGROUND_HOURS);
  const gw = await startTestGateway({
    demo: false,
    users: USERS,
    clock,
    config: {
      nodeRed: { enabled: false },
      cameras: {
        ...fastCameras,
        cameras: [camera('cam-yard', port, { zones: ['playground'] })],
        zoneSchedules: { playground: [{ days: [1, 2, 3, 4, 5], from: '09:00', to: '17:00' }] },
      },
    },
  });
  return { gw, clock };
}

/** Config for the access points a test's cameras cover: a camera may name only configured ones. */
export const accessPointsConfig = (...ids: string[]): GatewayConfigInput => ({ access: { accessPoints: ids.map((id) => ({ id, name: id, kind: 'gate' as const })) } });

export function camera(id: string, port: number, over: Record<string, unknown> = {}) {
  return { id, name: `Camera ${id}`, host: '127.0.0.1', port, username: 'admin', password: 'secret', ...over };
}

/**
 * Fake cameras and gateways that are stopped after each test, newest first. Call once at the top of a test file.
 */
export function cameraFixtures() {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    /** Stops `stop` after the test. */
    cleanup(stop: () => Promise<void> | void): void {
      cleanups.push(stop);
    },
    async device(opts: ConstructorParameters<typeof FakeOnvifDevice>[0] = {}): Promise<FakeOnvifDevice> {
      const d = new FakeOnvifDevice({ pullHoldMs: 200, ...opts });
      await d.start();
      cleanups.push(() => d.stop());
      return d;
    },
    async gateway(...args: Parameters<typeof cameraGateway>): Promise<TestGateway> {
      const gw = await cameraGateway(...args);
      cleanups.push(() => gw.close());
      return gw;
    },
    /** playgroundGateway(), stopped after the test. */
    async playground(port: number): Promise<{ gw: TestGateway; clock: ManualClock }> {
      const started = await playgroundGateway(port);
      cleanups.push(() => started.gw.close());
      return started;
    },
  };
}

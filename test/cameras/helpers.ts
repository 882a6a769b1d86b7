import type { CamerasConfig } from '../../config/cameras.js';
import type { GatewayConfigInput } from '../../config/schema.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

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

export function camera(id: string, port: number, over: Record<string, unknown> = {}) {
  return { id, name: `Camera ${id}`, host: '127.0.0.1', port, username: 'admin', password: 'secret', ...over };
}

/** What the API and the console show of a camera, and of a device found on the network. */
import type { VideoStatus } from './live/service.js';
import type { LastCameraEvent } from './events.js';
import type { CameraState } from './monitor.js';
import type { DeviceInfo, DiscoveredDevice, MediaProfile } from './port.js';
import type { CameraRecord } from './registry.js';

/** What the API and the console show of a camera. Never a password. */
export interface CameraView extends CameraRecord {
  hasPassword: boolean;
  state: CameraState;
  since: string | null;
  lastPollAt: string | null;
  lastError: { code: string; message: string; at: string } | null;
  device: DeviceInfo | null;
  clockOffsetMs: number | null;
  streams: MediaProfile[];
  snapshotSupported: boolean;
  ptz: boolean;
  subscription: { active: boolean; until: string | null };
  lastEvent: LastCameraEvent | null;
  latestSnapshotId: string | null;
  /** Live video of the main stream (`no video`: the RTSP pull fails, whatever ONVIF says). */
  video: VideoStatus;
  /** Whether it keeps a pre-roll, so alerts it covers get clips. */
  keepsClips: boolean;
}

export interface DiscoveredCamera extends DiscoveredDevice {
  registered: boolean;
  cameraId: string | null;
}

export const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

/** Which discovered devices are already registered (same host, and same port when the device tells it). */
export function markRegistered(devices: DiscoveredDevice[], cameras: Pick<CameraRecord, 'id' | 'host' | 'port'>[]): DiscoveredCamera[] {
  return devices.map((d) => {
    const cam = cameras.find((c) => (c.host === d.host || c.host === d.address) && (d.port === null || d.port === c.port));
    return { ...d, registered: Boolean(cam), cameraId: cam?.id ?? null };
  });
}

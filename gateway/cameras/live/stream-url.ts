import type { CameraEndpoint, MediaProfile } from '../port.js';
import type { StreamKind } from './service.js';

/**
 * The URL ffmpeg pulls for a camera stream, from its ONVIF profiles (first: main, second: sub), with the camera's
 * credentials; null while no RTSP URI is known. The demo's cameras have no RTSP server: ffmpeg generates their
 * video (`lavfi:`, see docs/cameras.md).
 */
export function streamUrlOf(profiles: MediaProfile[], stream: StreamKind, simulated: boolean, endpoint: () => CameraEndpoint): string | null {
  const withUri = profiles.filter((p) => p.rtspUri);
  const profile = stream === 'sub' ? (withUri[1] ?? withUri[0]) : withUri[0];
  if (!profile?.rtspUri) return null;
  if (simulated) return `lavfi:${profile.token}`;
  let url: URL;
  try {
    url = new URL(profile.rtspUri);
  } catch {
    return null;
  }
  if (url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:') return null;
  const ep = endpoint();
  // As for snapshots: the camera may announce an address we cannot reach.
  url.hostname = ep.host;
  if (ep.username) {
    url.username = encodeURIComponent(ep.username);
    url.password = encodeURIComponent(ep.password ?? '');
  }
  return url.toString();
}

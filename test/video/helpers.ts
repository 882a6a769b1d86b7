import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { GatewayConfigInput } from '../../config/schema.js';
import { accessPointsConfig, cameraFixtures, camera } from '../cameras/helpers.js';
import { tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';
import type { CameraView } from '../../gateway/cameras/module.js';
import { RtspTestServer, type RtspServerOptions } from './rtsp-server.js';

const run = promisify(execFile);

/** Fast loops, a short idle stop and a stall watchdog so restarts happen in test time. */
export const videoCameras = { liveIdleStopS: 1, liveStallS: 3, eventRetryMinMs: 100, eventRetryMaxMs: 500, clipBufferBytes: 64 * 1024 * 1024 };

/** A fake ONVIF camera whose profiles point at a real GStreamer RTSP server, and a gateway watching it. */
export function videoFixtures() {
  const fx = cameraFixtures();
  return {
    ...fx,
    async rtsp(opts: RtspServerOptions = {}): Promise<RtspTestServer> {
      const s = await new RtspTestServer(opts).start();
      fx.cleanup(() => s.stop());
      return s;
    },
    /**
     * Camera `cam-gate` (online, stream URIs known) on a gateway with `cameras` config laid over the test defaults,
     * and `extra` sections (e.g. `cloud`) beside it.
     */
    async setup(server: RtspTestServer, cameras: Record<string, unknown> = {}, cam: Record<string, unknown> = {}, extra: GatewayConfigInput = {}) {
      const d = await fx.device({ rtspPort: server.port });
      const covered = Array.isArray(cam.accessPoints) ? (cam.accessPoints as string[]) : [];
      const gw = await fx.gateway({ ...videoCameras, ...cameras, cameras: [camera('cam-gate', d.port, cam)] }, { ...accessPointsConfig(...covered), ...extra });
      const token = await gw.login('guard', 'guard-password-1');
      await waitFor(async () => (await view(gw, token, 'cam-gate')).streams.length === 2, 10_000);
      return { d, gw, token };
    },
  };
}

export async function view(gw: TestGateway, token: string, id: string): Promise<CameraView> {
  const res = await gw.api(`/api/v1/cameras/${id}`, { token });
  return (await res.json()) as CameraView;
}

/** Top-level MP4 boxes in `buf` (whole ones only), as [type, offset, size]. */
export function topBoxes(buf: Buffer): [string, number, number][] {
  const out: [string, number, number][] = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    const size = buf.readUInt32BE(off);
    if (size < 8 || off + size > buf.length) break;
    out.push([buf.toString('latin1', off + 4, off + 8), off, size]);
    off += size;
  }
  return out;
}

/**
 * Reads a streaming response, calling `enough` with all bytes so far after each chunk, until it says stop; then
 * hangs up unless `keepOpen` (the caller cancels `res.body` itself).
 */
export async function readUntil(res: Response, enough: (all: Buffer) => boolean, keepOpen = false): Promise<Buffer> {
  const reader = res.body!.getReader();
  const chunks: Buffer[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended after ${Buffer.concat(chunks).length} bytes`);
    chunks.push(Buffer.from(value));
    const all = Buffer.concat(chunks);
    if (enough(all)) {
      if (keepOpen) reader.releaseLock();
      else await reader.cancel();
      return all;
    }
  }
}

/** Video packets of a file as ffprobe reads them: presentation time (s) and whether it is a keyframe. */
export async function probePackets(data: Buffer | string): Promise<{ pts: number; key: boolean }[]> {
  const file = typeof data === 'string' ? data : join(tempDir('campus-video-'), 'probe.mp4');
  if (typeof data !== 'string') writeFileSync(file, data);
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file]);
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [pts, flags] = l.split(',');
      return { pts: Number(pts), key: (flags ?? '').startsWith('K') };
    });
}

export async function probeDuration(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
  return Number(stdout.trim());
}

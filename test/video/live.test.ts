/**
 * Live view against a real RTSP server (GStreamer, on loopback) behind a fake ONVIF camera: the gateway pulls it
 * with ffmpeg and serves fragmented MP4.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../helpers/gateway.js';
import { probePackets, readUntil, topBoxes, videoFixtures, view } from './helpers.js';

const { rtsp, setup } = videoFixtures();

const count = (buf: Buffer, type: string): number => topBoxes(buf).filter(([t]) => t === type).length;

describe('live view', () => {
  it('serves an fMP4 init segment, then fragments whose timestamps advance', async () => {
    const server = await rtsp();
    const { gw, token } = await setup(server);
    const res = await gw.api('/api/v1/cameras/cam-gate/live', { token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    const body = await readUntil(res, (all) => count(all, 'moof') >= 6);
    const boxes = topBoxes(body).map(([t]) => t);
    expect(boxes.slice(0, 3)).toEqual(['ftyp', 'moov', 'moof']);
    // What a player reads of it: H.264, starting on a keyframe, time moving on (10 fps test pattern).
    const packets = await probePackets(body);
    expect(packets[0]!.key).toBe(true);
    expect(packets.length).toBeGreaterThan(10);
    for (let i = 1; i < packets.length; i++) expect(packets[i]!.pts).toBeGreaterThan(packets[i - 1]!.pts);
    expect(packets.at(-1)!.pts - packets[0]!.pts).toBeGreaterThanOrEqual(1);
    expect((await view(gw, token, 'cam-gate')).video).toMatchObject({ state: 'ok', codec: 'h264' });
  });

  it('opens one upstream RTSP session for five viewers, and closes it after the last one leaves', async () => {
    const server = await rtsp();
    const { gw, token } = await setup(server);
    const viewers = await Promise.all(Array.from({ length: 5 }, () => gw.api('/api/v1/cameras/cam-gate/live', { token })));
    // Every viewer gets its own init segment and fragments from a keyframe on.
    const bodies = await Promise.all(viewers.map((r) => readUntil(r, (all) => count(all, 'moof') >= 2, true)));
    for (const b of bodies) expect(topBoxes(b)[0]![0]).toBe('ftyp');
    expect(server.connected).toBe(1);
    expect(server.total).toBe(1);
    expect((await view(gw, token, 'cam-gate')).video.viewers).toBe(5);
    await Promise.all(viewers.map((r) => r.body?.cancel()));
    // liveIdleStopS is 1 s here: the session ends by itself.
    await server.until((s) => s.connected === 0);
    expect(server.total).toBe(1);
    expect((await view(gw, token, 'cam-gate')).video.state).toBe('idle');
  });

  it('resumes in the same response when the RTSP server goes away and comes back', async () => {
    const server = await rtsp();
    const { gw, token } = await setup(server);
    const res = await gw.api('/api/v1/cameras/cam-gate/live', { token });
    const reader = res.body!.getReader();
    let all = Buffer.alloc(0);
    const readMore = async (enough: (b: Buffer) => boolean): Promise<void> => {
      while (!enough(all)) {
        const { done, value } = await reader.read();
        if (done) throw new Error('the live response ended');
        all = Buffer.concat([all, Buffer.from(value)]);
      }
    };
    await readMore((b) => count(b, 'moof') >= 2);
    await server.stop(); // a camera reboot: the session drops
    await waitFor(async () => (await view(gw, token, 'cam-gate')).video.state === 'no video', 15_000);
    await server.start(); // same port
    // A second init segment (the new upstream), then fragments again, on the same connection.
    await readMore((b) => count(b, 'ftyp') >= 2 && topBoxes(b).filter(([t]) => t === 'moof').some(([, off]) => off > topBoxes(b).filter(([t]) => t === 'ftyp')[1]![1]));
    await reader.cancel();
    expect(server.connected).toBeLessThanOrEqual(1);
    expect((await view(gw, token, 'cam-gate')).video.state).toBe('ok');
  });

  it('serves an H.265 camera as H.265 (never transcoded) and says so in its status', async () => {
    const server = await rtsp({ codec: 'h265' });
    const { gw, token } = await setup(server);
    const res = await gw.api('/api/v1/cameras/cam-gate/live', { token });
    expect(res.status).toBe(200);
    const body = await readUntil(res, (all) => count(all, 'moof') >= 3);
    // What the console reads to decide between playing and the snapshot fallback.
    expect((await view(gw, token, 'cam-gate')).video).toMatchObject({ state: 'ok', codec: 'h265' });
    // The bytes are the camera's H.265, remuxed: a player that can decode it gets frames.
    const file = join(tempDir('campus-h265-'), 'live.mp4');
    writeFileSync(file, body);
    const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', file]);
    expect(stdout.trim()).toBe('hevc');
    expect((await probePackets(body))[0]!.key).toBe(true);
  });

  it('ends a live stream within seconds of its session ending (logout)', async () => {
    const server = await rtsp();
    const { gw, token } = await setup(server);
    const res = await gw.api('/api/v1/cameras/cam-gate/live', { token });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read();
    expect((await gw.api('/api/v1/auth/logout', { method: 'POST', token })).status).toBe(204);
    // The session's recheck runs every 5 s: the stream ends, it does not play on for whoever holds the tablet.
    const ended = await waitFor(async () => {
      try {
        return (await reader.read()).done ? 'ended' : null;
      } catch {
        return 'cut';
      }
    }, 10_000, 0);
    expect(['ended', 'cut']).toContain(ended);
  });

  it('gives one user at most cameras.liveMaxPerUser live streams, so one login cannot take every slot', async () => {
    const server = await rtsp();
    const { gw, token } = await setup(server, { liveMaxPerUser: 3 });
    const open: Response[] = [];
    for (let i = 0; i < 3; i++) open.push(await gw.api('/api/v1/cameras/cam-gate/live?stream=sub', { token }));
    expect(open.map((r) => r.status)).toEqual([200, 200, 200]);
    const fourth = await gw.api('/api/v1/cameras/cam-gate/live?stream=sub', { token });
    expect(fourth.status).toBe(429);
    expect(((await fourth.json()) as { error: { code: string } }).error.code).toBe('too_many_streams');
    // Another user still gets one.
    const admin = await gw.login('admin', 'admin-password-1');
    const other = await gw.api('/api/v1/cameras/cam-gate/live?stream=sub', { token: admin });
    expect(other.status).toBe(200);
    for (const r of [...open, other]) await r.body!.cancel();
    // Closed, the slots are free again.
    await waitFor(async () => {
      const again = await gw.api('/api/v1/cameras/cam-gate/live?stream=sub', { token });
      const ok = again.status === 200;
      await again.body?.cancel();
      return ok;
    }, 5_000);
  });

  it('refuses the viewer role (403) and unknown cameras (404)', async () => {
    const server = await rtsp();
    const { gw, token } = await setup(server);
    const teacher = await gw.login('teacher', 'teacher-password-1');
    const res = await gw.api('/api/v1/cameras/cam-gate/live', { token: teacher });
    expect(res.status).toBe(403);
    expect((await gw.api('/api/v1/cameras/cam-gate/live')).status).toBe(401);
    expect((await gw.api('/api/v1/cameras/nope/live', { token })).status).toBe(404);
    // Nothing was pulled for the refused requests.
    expect(server.total).toBe(0);
  });
});

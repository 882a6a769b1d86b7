/**
 * The demo school's simulated cameras produce real H.264 (ffmpeg's generated test pattern), so live view and
 * clips work in `npm start`; a gateway without ffmpeg says so and keeps the snapshots.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../gateway/alerts/alerts.js';
import type { CameraView } from '../../gateway/cameras/module.js';
import { startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';
import { probeDuration, readUntil, topBoxes } from './helpers.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const camera = async (token: string, id: string): Promise<CameraView> => (await (await gw!.api(`/api/v1/cameras/${id}`, { token })).json()) as CameraView;

describe('demo video', { timeout: 90_000 }, () => {
  it('plays the main gate camera live and gives the lost card tapped there a clip', async () => {
    gw = await startTestGateway({ demo: true, config: { cameras: { preRollS: 2, postRollS: 2, segmentS: 1, clipBufferBytes: 64 * 1024 * 1024 } } });
    const token = await gw.login('security');
    await waitFor(async () => (await camera(token, 'cam-main-gate')).video.state === 'ok', 30_000, 200);

    const res = await gw.api('/api/v1/cameras/cam-main-gate/live?stream=sub', { token });
    expect(res.status).toBe(200);
    const body = await readUntil(res, (all) => topBoxes(all).filter(([t]) => t === 'moof').length >= 3, true);
    expect(topBoxes(body).slice(0, 2).map(([t]) => t)).toEqual(['ftyp', 'moov']);
    // The camera has one profile: the wall's sub-stream joins the pre-roll's pull instead of starting another.
    expect((await camera(token, 'cam-main-gate')).video.viewers).toBe(1);
    await res.body?.cancel();

    // 王芳's lost card at the main gate (as a reader driver puts a tap on the bus).
    gw.ctx.bus.emit('tap.received', { readerId: 'demo-gate-in', uid: '0BADCAFE', at: Date.now() });
    const alert = await waitFor(async () => {
      const { items } = (await (await gw!.api('/api/v1/alerts?type=card_lost_used', { token })).json()) as { items: Alert[] };
      return items.find((a) => a.clipIds.length > 0);
    }, 40_000, 200);
    const clip = await gw.api(`/api/v1/clips/${alert.clipIds[0]}`, { token });
    expect(clip.status).toBe(200);
    const file = join(tempDir('campus-clip-'), 'clip.mp4');
    writeFileSync(file, Buffer.from(await clip.arrayBuffer()));
    const duration = await probeDuration(file);
    expect(duration).toBeGreaterThanOrEqual(2);
    expect(duration).toBeLessThanOrEqual(6);
  });

  it('without ffmpeg: /healthz says so, live view answers 503 and snapshots still work', async () => {
    gw = await startTestGateway({ demo: true, config: { cameras: { ffmpegPath: '/nonexistent/ffmpeg' } } });
    const token = await gw.login('security');
    const health = await waitFor(async () => {
      const h = (await (await gw!.api('/healthz')).json()) as { components: Record<string, { detail?: string }> };
      return h.components.video?.detail === 'ffmpeg not installed' ? h : null;
    }, 10_000);
    expect(health.components.video).toEqual({ ok: true, status: 'ok', detail: 'ffmpeg not installed', code: 'video_no_ffmpeg' });
    await waitFor(async () => (await camera(token, 'cam-main-gate')).state === 'online', 10_000);
    const live = await gw.api('/api/v1/cameras/cam-main-gate/live', { token });
    expect(live.status).toBe(503);
    expect(((await live.json()) as { error: { message: string } }).error.message).toContain('ffmpeg not installed');
    expect((await gw.api('/api/v1/cameras/cam-main-gate/snapshot?fresh=1', { token })).status).toBe(200);
  });
});

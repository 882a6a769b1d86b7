/**
 * Pre-roll and alert clips against a real RTSP server: the same ffmpeg that would serve live view keeps short
 * segments; an alert at a covered access point gets a clip from before it to after it.
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../gateway/alerts/alerts.js';
import type { ClipMeta } from '../../gateway/cameras/live/clips.js';
import { tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';
import { CityReceiver, contractSchema } from '../cloud-sync/city.js';
import { Mosquitto } from '../cloud-sync/mosquitto.js';
import { probeDuration, probePackets, videoFixtures, view } from './helpers.js';

const { rtsp, setup, cleanup } = videoFixtures();

const files = (dir: string, ext: string): { name: string; bytes: number; mtime: number }[] => {
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith(ext))
      .map((n) => {
        const st = statSync(join(dir, n));
        return { name: n, bytes: st.size, mtime: st.mtimeMs };
      });
  } catch {
    return [];
  }
};

function raiseAt(gw: TestGateway, accessPoint: string, n = 1): Alert {
  return gw.ctx.alerts.raise({
    type: 'lost_card_used',
    severity: 'critical',
    source: 'reader:gate-in',
    message: `lost card used at ${accessPoint}`,
    accessPoint,
    dedupKey: `test:${accessPoint}:${n}`,
  });
}

async function clipOf(gw: TestGateway, token: string, alertId: string): Promise<ClipMeta> {
  const alert = await waitFor(async () => {
    const res = await gw.api(`/api/v1/alerts/${alertId}`, { token });
    const a = (await res.json()) as Alert;
    return a.clipIds.length ? a : null;
  }, 40_000, 200);
  const res = await gw.api(`/api/v1/clips/${alert.clipIds[0]}/info`, { token });
  expect(res.status).toBe(200);
  return (await res.json()) as ClipMeta;
}

describe('alert clips', { timeout: 90_000 }, () => {
  it('gives an alert at a covered access point a clip from pre-roll before to post-roll after it', async () => {
    const server = await rtsp();
    const { gw, token } = await setup(server, { preRollS: 4, postRollS: 3, segmentS: 1 }, { accessPoints: ['gate-main'] });
    const prerollDir = join(gw.dataDir, 'preroll', 'cam-gate');
    // The pre-roll runs without anyone watching, and holds at least the pre-roll once it has run that long.
    await waitFor(() => files(prerollDir, '.ts').length >= 6, 30_000, 200);
    expect((await view(gw, token, 'cam-gate')).video).toMatchObject({ preRoll: true, viewers: 0 });
    expect(server.total).toBe(1);

    const alert = raiseAt(gw, 'gate-main');
    const clip = await clipOf(gw, token, alert.id);
    expect(clip).toMatchObject({ cameraId: 'cam-gate', alertId: alert.id, error: null });
    // The first frame is from before the alert, the last after it.
    expect(Date.parse(clip.startAt!)).toBeLessThan(Date.parse(alert.raisedAt));
    expect(Date.parse(clip.endAt!)).toBeGreaterThan(Date.parse(alert.raisedAt));

    // A <video> element cannot set headers: the token rides in the query.
    const res = await gw.api(`/api/v1/clips/${clip.id}?access_token=${token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    const file = join(tempDir('campus-clip-'), 'clip.mp4');
    const body = Buffer.from(await res.arrayBuffer());
    writeFileSync(file, body);
    // faststart: the index (moov) comes before the media, so playback starts before the download ends.
    expect(body.indexOf('moov')).toBeLessThan(body.indexOf('mdat'));
    const duration = await probeDuration(file);
    expect(duration).toBeGreaterThanOrEqual(4 + 3 - 2);
    expect(duration).toBeLessThanOrEqual(4 + 3 + 2);
    expect((await probePackets(file))[0]!.key).toBe(true);
    // Still one RTSP session: the clip came from the running pull.
    expect(server.total).toBe(1);

    const teacher = await gw.login('teacher', 'teacher-password-1');
    expect((await gw.api(`/api/v1/clips/${clip.id}`, { token: teacher })).status).toBe(403);
    // Seeking: a range is answered with its bytes; one the clip does not have is 416, not "the clip is gone".
    const part = await gw.api(`/api/v1/clips/${clip.id}`, { token, headers: { range: 'bytes=0-99' } });
    expect(part.status).toBe(206);
    expect((await part.arrayBuffer()).byteLength).toBe(100);
    expect((await gw.api(`/api/v1/clips/${clip.id}`, { token, headers: { range: `bytes=${body.length + 10}-` } })).status).toBe(416);

    // Pictures of pupils on disk, like the snapshots: the clip file and the finished pre-roll segments are the
    // gateway user's alone (ffmpeg would leave them 0644), in folders only that user can enter.
    const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);
    expect(mode(join(gw.dataDir, 'clips', `${clip.id}.mp4`))).toBe('600');
    expect(mode(join(gw.dataDir, 'clips'))).toBe('700');
    expect(mode(prerollDir)).toBe('700');
    // The newest segment may still be open in ffmpeg; every one before it is finished.
    const segs = files(prerollDir, '.ts').sort((a, b) => a.name.localeCompare(b.name)).slice(0, -1);
    expect(segs.length).toBeGreaterThan(0);
    for (const s of segs) expect(mode(join(prerollDir, s.name)), s.name).toBe('600');
  });

  it('sends the city a reference to the clip only when the school opted in (cloud.identifying.clips)', async () => {
    const broker = new Mosquitto();
    await broker.start();
    cleanup(() => broker.close());
    const city = await CityReceiver.connect(broker.url);
    cleanup(() => city.close());
    const server = await rtsp();
    const cloud = (clientId: string, clips?: boolean) => ({
      cloud: { upstreamUrl: broker.url, clientId, heartbeatIntervalS: 3600, backoff: { initialMs: 100, maxMs: 500 }, ...(clips === undefined ? {} : { identifying: { clips } }) },
    });
    // Two schools' gateways side by side, one left at the default, one opted in.
    const [off, on] = await Promise.all([
      setup(server, { preRollS: 1, postRollS: 1, segmentS: 1 }, { accessPoints: ['gate-main'] }, cloud('school-default')),
      setup(server, { preRollS: 1, postRollS: 1, segmentS: 1 }, { accessPoints: ['gate-main'] }, cloud('school-opted-in', true)),
    ]);
    const sent = async ({ gw, token }: typeof off) => {
      await waitFor(async () => (await view(gw, token, 'cam-gate')).video.state === 'ok', 30_000, 200);
      const alert = raiseAt(gw, 'gate-main');
      const clip = await clipOf(gw, token, alert.id);
      expect(clip.error).toBeNull();
      // Acknowledged after the clip was attached: the city has every earlier change of the alert once it has this one.
      expect((await gw.api(`/api/v1/alerts/${alert.id}/ack`, { method: 'POST', token, json: {} })).status).toBe(200);
      await waitFor(() => city.of('alert.acknowledged').some((m) => m.envelope.data.alertId === alert.id), 20_000, 100);
      return { clip, messages: city.messages.filter((m) => m.envelope.data.alertId === alert.id) };
    };
    const [byDefault, optedIn] = await Promise.all([sent(off), sent(on)]);

    // Default: not the video, not the reference, not even the clip's id.
    expect(byDefault.messages.length).toBeGreaterThanOrEqual(2);
    for (const m of byDefault.messages) {
      expect(m.envelope.data).not.toHaveProperty('clips');
      expect(JSON.stringify(m.envelope)).not.toContain(byDefault.clip.id);
    }
    // Opted in: the alert carries the reference, as snapshots are carried (a path on the gateway API, no video).
    const acked = optedIn.messages.find((m) => m.envelope.type === 'alert.acknowledged')!;
    expect(acked.envelope.data.clips).toEqual([{ id: optedIn.clip.id, path: `/api/v1/clips/${optedIn.clip.id}` }]);
    expect(optedIn.messages.some((m) => m.envelope.type === 'alert.updated' && Array.isArray(m.envelope.data.clips))).toBe(true);
    // Both as the published contract allows.
    for (const m of [...byDefault.messages, ...optedIn.messages]) expect(contractSchema('envelope').safeParse(m.envelope).success).toBe(true);
  });

  it('keeps the clip folder within its count and the pre-roll folder within its bytes', async () => {
    const server = await rtsp();
    const cap = 40_000;
    const { gw, token } = await setup(
      server,
      { preRollS: 1, postRollS: 1, segmentS: 1, clipBufferBytes: cap, clipRetention: { maxCount: 2 } },
      { accessPoints: ['gate-main'] },
    );
    const prerollDir = join(gw.dataDir, 'preroll', 'cam-gate');
    const clipsDir = join(gw.dataDir, 'clips');
    await waitFor(() => files(prerollDir, '.ts').length >= 3, 30_000, 200);
    const ids: string[] = [];
    for (let n = 1; n <= 4; n++) {
      const clip = await clipOf(gw, token, raiseAt(gw, 'gate-main', n).id);
      expect(clip.error).toBeNull();
      ids.push(clip.id);
      expect(files(clipsDir, '.mp4').length).toBeLessThanOrEqual(2);
      // Every finished segment counts against the cap; only the one ffmpeg is writing is outside it.
      const segs = files(prerollDir, '.ts').sort((a, b) => a.name.localeCompare(b.name));
      expect(segs.slice(0, -1).reduce((t, s) => t + s.bytes, 0)).toBeLessThanOrEqual(cap);
    }
    // The oldest went first; the newest two play.
    expect((await gw.api(`/api/v1/clips/${ids[0]}`, { token })).status).toBe(404);
    expect((await gw.api(`/api/v1/clips/${ids[3]}`, { token })).status).toBe(200);
  });

  it('keeps the clip of an alert still open while newer clips come and go, and at most four clips an alert', async () => {
    const server = await rtsp();
    const { gw, token } = await setup(server, { preRollS: 1, postRollS: 1, segmentS: 1, clipRetention: { maxCount: 2 } }, { accessPoints: ['gate-main'] });
    await waitFor(() => files(join(gw.dataDir, 'preroll', 'cam-gate'), '.ts').length >= 3, 30_000, 200);
    const open = raiseAt(gw, 'gate-main', 100);
    const kept = await clipOf(gw, token, open.id);
    // Alerts resolved one after another (a hostile camera's were open, each with clips): the caps take theirs.
    for (let n = 1; n <= 3; n++) {
      const a = raiseAt(gw, 'gate-main', n);
      await clipOf(gw, token, a.id);
      gw.ctx.alerts.resolve(a.id, 'test');
    }
    expect(files(join(gw.dataDir, 'clips'), '.mp4').length).toBeLessThanOrEqual(2);
    expect((await gw.api(`/api/v1/clips/${kept.id}`, { token })).status).toBe(200);
    // The open alert recurring again and again: each recurrence got a clip while its pictures were under their cap.
    for (let n = 0; n < 6; n++) {
      const before = gw.ctx.alerts.get(open.id).clipIds.length;
      raiseAt(gw, 'gate-main', 100);
      await waitFor(() => gw.ctx.alerts.get(open.id).clipIds.length > before || before >= 4 || null, 20_000, 100).catch(() => null);
    }
    await new Promise((r) => setTimeout(r, 3000));
    expect(gw.ctx.alerts.get(open.id).clipIds.length).toBe(4);
  });

  it('says so instead of holding video when the camera stream was down at the time', async () => {
    const server = await rtsp();
    const { gw, token } = await setup(server, { preRollS: 1, postRollS: 1, segmentS: 1 }, { accessPoints: ['gate-main'] });
    await waitFor(async () => (await view(gw, token, 'cam-gate')).video.state === 'ok', 30_000, 200);
    await server.stop();
    await waitFor(async () => (await view(gw, token, 'cam-gate')).video.state === 'no video', 20_000, 200);
    const clip = await clipOf(gw, token, raiseAt(gw, 'gate-main').id);
    expect(clip.error).toMatch(/no video/);
    const res = await gw.api(`/api/v1/clips/${clip.id}`, { token });
    expect(res.status).toBe(409);
  });
});

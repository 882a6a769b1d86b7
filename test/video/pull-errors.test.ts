/**
 * How a live pull fails. What it tells the console and the log: why it ended, never the camera's password (a real
 * ffmpeg pulls from a closed loopback port, over RTSP and over RTSP on TLS, which ONVIF cameras may announce). And a
 * stream that never sends another keyframe (GStreamer's RTSP server as the camera) cannot fill the disk.
 */
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { LivePull } from '../../gateway/cameras/live/pull.js';
import { captureLog } from '../helpers/log-capture.js';
import { waitFor } from '../helpers/gateway.js';
import { tempDir } from '../helpers/temp.js';
import { RtspTestServer } from './rtsp-server.js';

describe('a live pull that fails', () => {
  let pull: LivePull | undefined;
  afterEach(() => pull?.stop());

  for (const scheme of ['rtsp', 'rtsps']) {
    it(`says why it ended without the camera's credentials (${scheme}://)`, async () => {
      const log = captureLog();
      pull = new LivePull({
        ffmpegPath: 'ffmpeg',
        url: `${scheme}://admin:S3cret-pw@127.0.0.1:1/stream1`,
        stallMs: 5000,
        maxBoxBytes: 1 << 20,
        retry: { initialMs: 60_000, maxMs: 60_000 },
        segments: null,
        log: log.log,
      });
      pull.start();
      await waitFor(() => pull!.lastError !== null, 15_000, 50);
      expect(pull.lastError).toContain('127.0.0.1');
      expect(pull.lastError).not.toContain('S3cret-pw');
      expect(log.text()).toContain('live pull ended');
      expect(log.text()).not.toContain('S3cret-pw');
    });
  }
});

describe('a camera stream with no keyframe after the first', () => {
  let pull: LivePull | undefined;
  let rtsp: RtspTestServer | undefined;
  afterEach(async () => {
    pull?.stop();
    await rtsp?.stop();
  });

  it('restarts the pull when a pre-roll segment stays open past its limit, and deletes what it wrote', async () => {
    // One keyframe and then none: ffmpeg's segmenter cuts only at keyframes, so the segment grew without end, unseen
    // by the pre-roll's byte limit (it counts closed segments only).
    rtsp = await new RtspTestServer({ gopFrames: 1_000_000, bitrate: 2000, pattern: 'snow' }).start();
    const dir = tempDir('preroll-');
    const restarts: string[] = [];
    pull = new LivePull({
      ffmpegPath: 'ffmpeg',
      url: rtsp.url(),
      stallMs: 30_000,
      maxBoxBytes: 16 << 20,
      retry: { initialMs: 60_000, maxMs: 60_000 },
      segments: { dir, segmentS: 1, maxOpenMs: 3000, maxOpenBytes: 32 << 20 },
      onRestart: (reason) => restarts.push(reason),
      log: captureLog().log,
    });
    pull.start();
    await waitFor(() => restarts.length > 0, 30_000, 100);
    expect(restarts[0]).toMatch(/no keyframe/);
    // What the killed run wrote is gone: nothing is left for a disk to fill with.
    expect(readdirSync(dir)).toEqual([]);
  });

  it('restarts the pull when the open segment passes its bytes before a keyframe closes it, and deletes it', async () => {
    // A high bitrate and keyframes far apart: the segment being written counted against no cap until it closed, and a
    // hostile camera's grew to 136 MB against a 64 MiB pre-roll (an attacker review, 2026-12-06).
    rtsp = await new RtspTestServer({ gopFrames: 1_000_000, bitrate: 8000, pattern: 'snow' }).start();
    const dir = tempDir('preroll-');
    const restarts: string[] = [];
    pull = new LivePull({
      ffmpegPath: 'ffmpeg',
      url: rtsp.url(),
      stallMs: 4000,
      maxBoxBytes: 16 << 20,
      retry: { initialMs: 60_000, maxMs: 60_000 },
      segments: { dir, segmentS: 1, maxOpenMs: 600_000, maxOpenBytes: 1 << 20 },
      onRestart: (reason) => restarts.push(reason),
      log: captureLog().log,
    });
    pull.start();
    await waitFor(() => restarts.length > 0, 30_000, 100);
    expect(restarts[0]).toMatch(/passed 1 MiB before a keyframe/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

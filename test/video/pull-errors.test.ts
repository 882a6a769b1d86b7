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

  // Both with one keyframe and then none: ffmpeg's segmenter cuts only at keyframes, so the open segment grows without
  // end. It counted against no cap until it closed: one limit is its age, the other its bytes (a hostile camera's grew
  // to 136 MB against a 64 MiB pre-roll, an attacker review, 2026-12-06).
  const limits = [
    { what: 'stays open past its time limit', bitrate: 2000, stallMs: 30_000, maxOpenMs: 3000, maxOpenBytes: 32 << 20, reason: /no keyframe/ },
    { what: 'passes its bytes before a keyframe closes it', bitrate: 8000, stallMs: 4000, maxOpenMs: 600_000, maxOpenBytes: 1 << 20, reason: /passed 1 MiB before a keyframe/ },
  ];
  for (const { what, bitrate, stallMs, maxOpenMs, maxOpenBytes, reason } of limits) {
    it(`restarts the pull when the open pre-roll segment ${what}, and deletes what the run wrote`, async () => {
      rtsp = await new RtspTestServer({ gopFrames: 1_000_000, bitrate, pattern: 'snow' }).start();
      const dir = tempDir('preroll-');
      const restarts: string[] = [];
      pull = new LivePull({
        ffmpegPath: 'ffmpeg',
        url: rtsp.url(),
        stallMs,
        maxBoxBytes: 16 << 20,
        retry: { initialMs: 60_000, maxMs: 60_000 },
        segments: { dir, segmentS: 1, maxOpenMs, maxOpenBytes },
        onRestart: (r) => restarts.push(r),
        log: captureLog().log,
      });
      pull.start();
      await waitFor(() => restarts.length > 0, 30_000, 100);
      expect(restarts[0]).toMatch(reason);
      // Nothing is left for a disk to fill with.
      expect(readdirSync(dir)).toEqual([]);
    });
  }
});

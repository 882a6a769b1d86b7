/**
 * What a failed pull tells the console and the log: why it ended, never the camera's password. A real ffmpeg pulls
 * from a closed loopback port, over RTSP and over RTSP on TLS (`rtsps:`), which ONVIF cameras may announce.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LivePull } from '../../gateway/cameras/live/pull.js';
import { captureLog } from '../helpers/log-capture.js';
import { waitFor } from '../helpers/gateway.js';

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

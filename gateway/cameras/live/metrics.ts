import type { Counter, Gauge, Registry } from 'prom-client';
import { MetricFactory } from '../../core/metrics.js';

/** Live view and clips; per-camera label sets are bounded by the camera registry. */
export class VideoMetrics {
  readonly viewers: Gauge<'camera' | 'stream'>;
  readonly pulls: Gauge<'camera' | 'stream'>;
  readonly restarts: Counter<'camera' | 'stream' | 'reason'>;
  readonly bufferBytes: Gauge<'camera'>;
  readonly clips: Counter<'result'>;
  readonly clipCount: Gauge;
  readonly clipBytes: Gauge;
  readonly viewersDropped: Counter<'reason'>;

  constructor(registry: Registry) {
    const m = new MetricFactory(registry);
    this.viewers = m.gauge('campus_video_live_viewers', 'Live viewers per camera and stream', ['camera', 'stream']);
    this.pulls = m.gauge('campus_video_upstream_pulls', '1 while the gateway pulls this camera stream over RTSP (one ffmpeg each)', ['camera', 'stream']);
    this.restarts = m.counter('campus_video_ffmpeg_restarts_total', 'Pulls restarted after ffmpeg exited, crashed or stalled', ['camera', 'stream', 'reason']);
    this.bufferBytes = m.gauge('campus_video_preroll_bytes', 'Bytes of pre-roll segments kept per camera', ['camera']);
    this.clips = m.counter('campus_video_clips_total', 'Alert clips by result (ok, no_video, failed)', ['result']);
    this.clipCount = m.gauge('campus_video_clip_store_count', 'Stored clips');
    this.clipBytes = m.gauge('campus_video_clip_store_bytes', 'Bytes of stored clips');
    this.viewersDropped = m.counter('campus_video_viewers_dropped_total', 'Live viewers cut off by the gateway (too slow to keep up)', ['reason']);
  }
}

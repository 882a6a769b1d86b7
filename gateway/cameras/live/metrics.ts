import { Counter, Gauge, type Registry } from 'prom-client';

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
    const registers = [registry];
    this.viewers = new Gauge({ name: 'campus_video_live_viewers', help: 'Live viewers per camera and stream', labelNames: ['camera', 'stream'], registers });
    this.pulls = new Gauge({
      name: 'campus_video_upstream_pulls',
      help: '1 while the gateway pulls this camera stream over RTSP (one ffmpeg each)',
      labelNames: ['camera', 'stream'],
      registers,
    });
    this.restarts = new Counter({
      name: 'campus_video_ffmpeg_restarts_total',
      help: 'Pulls restarted after ffmpeg exited, crashed or stalled',
      labelNames: ['camera', 'stream', 'reason'],
      registers,
    });
    this.bufferBytes = new Gauge({ name: 'campus_video_preroll_bytes', help: 'Bytes of pre-roll segments kept per camera', labelNames: ['camera'], registers });
    this.clips = new Counter({ name: 'campus_video_clips_total', help: 'Alert clips by result (ok, no_video, failed)', labelNames: ['result'], registers });
    this.clipCount = new Gauge({ name: 'campus_video_clip_store_count', help: 'Stored clips', registers });
    this.clipBytes = new Gauge({ name: 'campus_video_clip_store_bytes', help: 'Bytes of stored clips', registers });
    this.viewersDropped = new Counter({
      name: 'campus_video_viewers_dropped_total',
      help: 'Live viewers cut off by the gateway (too slow to keep up)',
      labelNames: ['reason'],
      registers,
    });
  }
}

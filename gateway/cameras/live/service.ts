/**
 * Live video and pre-roll for all cameras: at most one pull per camera and stream however many people watch,
 * started on the first viewer (or kept running for a camera that keeps a pre-roll) and stopped `liveIdleStopS`
 * after the last viewer leaves; at most `maxLivePulls` at once. Alert clips are cut from the pre-roll.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CamerasConfig } from '../../../config/cameras.js';
import type { Clock } from '../../core/clock.js';
import { GatewayError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Database } from '../../storage/db.js';
import { InFlight } from '../../core/in-flight.js';
import { ClipStore, type ClipMeta } from './clips.js';
import type { VideoMetrics } from './metrics.js';
import { PreRollBuffer } from './preroll.js';
import { LivePull, type LiveSink } from './pull.js';

export type StreamKind = 'main' | 'sub';

/** The metric label for why a pull restarted (bounded set). */
function restartReason(why: string): 'stalled' | 'bad_stream' | 'exited' {
  if (why.includes('(stalled)')) return 'stalled';
  if (why.startsWith('no keyframe')) return 'bad_stream';
  if (/box |fragmented MP4|moov without|mdat without/.test(why)) return 'bad_stream';
  return 'exited';
}

/** What the cameras domain tells the video service about a camera. */
export interface VideoSource {
  /** The stream's URL with credentials (or `lavfi:` for a simulated camera); null while no RTSP URI is known. */
  url(cameraId: string, stream: StreamKind): string | null;
  /** Cameras that keep a pre-roll (`cameras[].clips`). */
  preRollCameras(): string[];
  /** Alerts not resolved yet: their clips are the last the caps take. */
  openAlerts(): ReadonlySet<string>;
}

interface Entry {
  key: string;
  cameraId: string;
  stream: StreamKind;
  pull: LivePull;
  viewers: number;
  idleTimer: NodeJS.Timeout | undefined;
  preRoll: PreRollBuffer | null;
}

export interface VideoStatus {
  /** `ok` playing, `starting`, `no video` (the pull keeps failing: RTSP down while ONVIF may be up), `idle`. */
  state: 'idle' | 'starting' | 'ok' | 'no video';
  /** `h264`, `h265` (most browsers cannot play it live: the console shows snapshots), or the MP4 sample entry. */
  codec: string | null;
  viewers: number;
  error: string | null;
  preRoll: boolean;
}

export class LiveVideo {
  /** null until probed; false when ffmpeg is not installed. */
  ffmpeg: boolean | null = null;
  readonly clips: ClipStore;
  private readonly entries = new Map<string, Entry>();
  /**
   * The codec each camera stream had when its pull last stopped: a browser that cannot play H.265 leaves at once,
   * the pull stops, and the camera page must still say why there is no live picture.
   */
  private readonly lastCodec = new Map<string, string>();
  private readonly bufferRoot: string;
  private syncTimer: NodeJS.Timeout | undefined;
  /** Cameras that want a pre-roll but were left without one by `maxLivePulls`, when that was last logged. */
  private capped = 0;
  /** Clips being made: stop() cuts their wait short, kills their ffmpeg and waits for their rows (see stop()). */
  private readonly clipping = new InFlight();
  /** Aborted by stop(): kills the clips' ffmpeg, and says nothing new starts. */
  private readonly stopping = new AbortController();
  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  constructor(
    private readonly cfg: CamerasConfig,
    dataDir: string,
    db: Database,
    clock: Clock,
    private readonly metrics: VideoMetrics,
    private readonly log: Logger,
    private readonly source: VideoSource,
  ) {
    this.bufferRoot = resolve(dataDir, 'preroll');
    this.clips = new ClipStore(db, resolve(dataDir, 'clips'), clock, cfg.clipRetention, cfg.ffmpegPath, () => source.openAlerts());
  }

  get config(): CamerasConfig {
    return this.cfg;
  }

  viewerDropped(reason: 'slow'): void {
    this.metrics.viewersDropped.inc({ reason });
  }

  async start(): Promise<void> {
    this.clips.reconcile();
    this.updateClipMetrics();
    // The pre-roll is only ever worth something while we run; a previous run's leftovers go.
    rmSync(this.bufferRoot, { recursive: true, force: true });
    this.ffmpeg = await new Promise<boolean>((resolve) => {
      execFile(this.cfg.ffmpegPath, ['-hide_banner', '-version'], { timeout: 10_000 }, (err) => resolve(!err));
    });
    if (!this.ffmpeg) this.log.warn(`video: ${this.cfg.ffmpegPath} not found: live view and clips are off (snapshots only)`);
    if (this.stopped) return;
    this.syncPreRoll();
    this.syncTimer = setInterval(() => this.syncPreRoll(), 5_000);
    this.syncTimer.unref();
  }

  /**
   * Stops every pull and resolves once the clips being made are settled. The database closes right after the modules
   * stop: a clip left waiting for its post-roll (up to post-roll + 13 s) wrote its row to the closed database, and an
   * ffmpeg cut finishing late left a file without a row. Clearing the pre-roll ends their wait and the abort kills
   * their ffmpeg; the rows are written now, while the database is open.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.syncTimer);
    for (const e of [...this.entries.values()]) this.drop(e);
    await this.clipping.idle();
  }

  /** English `detail` for IT, and the same as a code with its values for the console (`health.<code>`). */
  health(): { detail: string; code: string; params?: Record<string, number> } {
    if (this.ffmpeg === false) return { detail: 'ffmpeg not installed', code: 'video_no_ffmpeg' };
    const running = [...this.entries.values()].filter((e) => e.pull.state === 'running').length;
    return { detail: `${running}/${this.entries.size} RTSP pulls running`, code: 'video_pulls_running', params: { running, total: this.entries.size } };
  }

  /** Starts pre-roll pulls for cameras that keep one and now have a stream, stops those that no longer should. */
  syncPreRoll(): void {
    if (!this.ffmpeg || this.stopped) return;
    const want = new Set(this.cfg.clipBufferBytes > 0 ? this.source.preRollCameras() : []);
    for (const e of [...this.entries.values()]) {
      if (e.preRoll && !want.has(e.cameraId) && e.viewers === 0) this.drop(e);
    }
    let left = 0;
    for (const id of want) {
      if (this.entries.has(`${id}:main`)) continue;
      // At the cap, the rest wait for a free pull: no attempt each (every 5 s, for each of hundreds of cameras).
      if (this.entries.size >= this.cfg.maxLivePulls) {
        left++;
        continue;
      }
      try {
        this.ensure(id, 'main');
      } catch (err) {
        this.log.debug({ camera: id, err: (err as Error).message }, 'no pre-roll yet');
      }
    }
    if (left !== this.capped && left > 0) {
      this.log.warn({ withoutPreRoll: left, maxLivePulls: this.cfg.maxLivePulls }, 'video: cameras.maxLivePulls leaves some cameras without a pre-roll (no clips for their alerts)');
    }
    this.capped = left;
  }

  status(cameraId: string, stream: StreamKind = 'main'): VideoStatus {
    const e = this.entries.get(`${cameraId}:${stream}`);
    if (!e) return { state: 'idle', codec: this.lastCodec.get(`${cameraId}:${stream}`) ?? null, viewers: 0, error: null, preRoll: false };
    const p = e.pull;
    const state = p.state === 'running' ? 'ok' : p.lastError ? 'no video' : 'starting';
    return { state, codec: p.codec, viewers: e.viewers, error: p.lastError, preRoll: e.preRoll !== null };
  }

  /** A viewer joins; the returned function is how it leaves. */
  watch(cameraId: string, stream: StreamKind, sink: LiveSink): () => void {
    if (this.ffmpeg === false) throw new GatewayError('unavailable', 'video: ffmpeg not installed on the gateway', 503);
    // A camera with one profile has no sub-stream: its viewers share the main pull, not a second RTSP session.
    if (stream === 'sub' && this.source.url(cameraId, 'sub') === this.source.url(cameraId, 'main')) stream = 'main';
    const e = this.ensure(cameraId, stream);
    // Each viewer costs the gateway's uplink and memory, not the camera's: bounded all the same.
    if (e.viewers >= this.cfg.liveMaxViewers) {
      throw new GatewayError('too_many_viewers', `camera ${cameraId} already has ${e.viewers} live viewers (cameras.liveMaxViewers)`, 503);
    }
    clearTimeout(e.idleTimer);
    e.idleTimer = undefined;
    e.viewers++;
    e.pull.addSink(sink);
    this.metrics.viewers.set({ camera: cameraId, stream }, e.viewers);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      e.pull.removeSink(sink);
      e.viewers--;
      this.metrics.viewers.set({ camera: cameraId, stream }, e.viewers);
      if (e.viewers > 0 || e.preRoll || this.entries.get(e.key) !== e) return;
      e.idleTimer = setTimeout(() => {
        if (e.viewers === 0 && this.entries.get(e.key) === e) this.drop(e);
      }, this.cfg.liveIdleStopS * 1000);
    };
  }

  private ensure(cameraId: string, stream: StreamKind): Entry {
    const key = `${cameraId}:${stream}`;
    const have = this.entries.get(key);
    if (have) return have;
    const url = this.source.url(cameraId, stream);
    if (!url) throw new GatewayError('no_video', `camera ${cameraId} offers no RTSP stream (or is not connected yet)`, 409);
    if (this.entries.size >= this.cfg.maxLivePulls) {
      throw new GatewayError('too_many_pulls', `the gateway already pulls ${this.entries.size} streams (cameras.maxLivePulls)`, 503);
    }
    const keepsPreRoll = stream === 'main' && this.cfg.clipBufferBytes > 0 && this.source.preRollCameras().includes(cameraId);
    const dir = join(this.bufferRoot, cameraId);
    const preRoll = keepsPreRoll
      ? new PreRollBuffer(dir, (this.cfg.preRollS + 2 * this.cfg.segmentS) * 1000, this.cfg.clipBufferBytes, (bytes) =>
          this.metrics.bufferBytes.set({ camera: cameraId }, bytes),
        )
      : null;
    const pull = new LivePull({
      ffmpegPath: this.cfg.ffmpegPath,
      url,
      stallMs: this.cfg.liveStallS * 1000,
      maxBoxBytes: 16 * 1024 * 1024,
      retry: { initialMs: this.cfg.eventRetryMinMs, maxMs: this.cfg.eventRetryMaxMs },
      // A camera's GOP can be long (smart codecs: 10-20 s); no keyframe for half a minute is a broken stream.
      segments: preRoll
        ? { dir, segmentS: this.cfg.segmentS, maxOpenMs: Math.max(30_000, 10 * this.cfg.segmentS * 1000), maxOpenBytes: Math.floor(this.cfg.clipBufferBytes / 2) }
        : null,
      onSegment: (s) => preRoll?.add(s),
      onRestart: (reason) => this.metrics.restarts.inc({ camera: cameraId, stream, reason: restartReason(reason) }),
      rtspBasicAuth: this.cfg.basicAuth,
      log: this.log.child({ camera: cameraId, stream }),
    });
    const e: Entry = { key, cameraId, stream, pull, viewers: 0, idleTimer: undefined, preRoll };
    this.entries.set(key, e);
    this.metrics.pulls.set({ camera: cameraId, stream }, 1);
    pull.start();
    return e;
  }

  private drop(e: Entry): void {
    if (e.pull.codec) this.lastCodec.set(e.key, e.pull.codec);
    clearTimeout(e.idleTimer);
    e.pull.stop();
    e.preRoll?.clear();
    this.entries.delete(e.key);
    this.metrics.pulls.set({ camera: e.cameraId, stream: e.stream }, 0);
  }

  /** Whether a camera keeps a pre-roll now (so an alert there can get a clip). */
  hasPreRoll(cameraId: string): boolean {
    return Boolean(this.entries.get(`${cameraId}:main`)?.preRoll);
  }

  /**
   * The clip for an event at `eventAt`: `preRollS` before to `postRollS` after, once the post-roll is in. Without a
   * running pre-roll (camera down, RTSP down, ffmpeg missing) the clip says so instead of holding video.
   */
  clipFor(cameraId: string, alertId: string | null, eventAt: number): Promise<ClipMeta> {
    if (this.stopped) return Promise.reject(new GatewayError('unavailable', 'video: the gateway is stopping', 503));
    return this.clipping.track(this.makeClip(cameraId, alertId, eventAt));
  }

  private async makeClip(cameraId: string, alertId: string | null, eventAt: number): Promise<ClipMeta> {
    const e = this.entries.get(`${cameraId}:main`);
    const buf = e?.preRoll;
    const from = eventAt - this.cfg.preRollS * 1000;
    const to = eventAt + this.cfg.postRollS * 1000;
    // Down at the moment of the event (camera rebooting, RTSP refused, ffmpeg restarting): no clip, and why.
    if (!buf || !e || e.pull.state !== 'running') {
      const why = this.ffmpeg === false ? 'ffmpeg not installed' : e?.pull.lastError ? `no video: ${e.pull.lastError}` : 'no video: the camera was not streaming';
      return this.record(this.clips.failed(cameraId, alertId, eventAt, why));
    }
    const release = buf.hold(from);
    try {
      // The post-roll, plus time for the segment that holds its end to close; a camera that drops meanwhile
      // leaves a shorter clip rather than none.
      await buf.waitUntilCovered(to, (this.cfg.postRollS + 3 * this.cfg.segmentS + 10) * 1000);
      // Stopped meanwhile: the pre-roll is gone with its pull; the alert's clip says why it has no video.
      const stopped = (): ClipMeta => this.record(this.clips.failed(cameraId, alertId, eventAt, 'no video: the gateway stopped before the clip was made'));
      if (this.stopped) return stopped();
      const segments = buf.between(from, to);
      if (!segments.length) return this.record(this.clips.failed(cameraId, alertId, eventAt, 'no video: nothing recorded around the event'));
      try {
        return this.record(await this.clips.cut(cameraId, alertId, eventAt, segments, this.stopping.signal));
      } catch (err) {
        if (this.stopped) return stopped(); // ffmpeg killed by stop()
        throw err;
      }
    } finally {
      release();
    }
  }

  private record(meta: ClipMeta): ClipMeta {
    this.metrics.clips.inc({ result: meta.error ? 'no_video' : 'ok' });
    this.updateClipMetrics();
    return meta;
  }

  private updateClipMetrics(): void {
    const t = this.clips.totals();
    this.metrics.clipCount.set(t.count);
    this.metrics.clipBytes.set(t.bytes);
  }

}

/**
 * One upstream RTSP pull of one camera stream: an `ffmpeg` process that remuxes (`-c copy`, never a transcode) to
 * fragmented MP4 on stdout, and, when the camera keeps a pre-roll, also to short MPEG-TS segments on disk (the same
 * process, so one RTSP session). The init segment is kept for viewers who join late; fragments fan out to every
 * sink. A crash, an exit or a stall (no bytes for `stallMs`: cameras drop sessions silently) restarts it with backoff.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { Backoff } from '../../core/pacing.js';
import type { Logger } from '../../core/logger.js';
import { privateDir } from '../../storage/private-files.js';
import { codecName, Fmp4Splitter, videoCodecOf } from './fmp4.js';
import { RtspGuard } from './rtsp-guard.js';

export interface LiveSink {
  /** A new init segment: the first for this sink, or after the pull restarted (timestamps start again). */
  init(data: Buffer): void;
  fragment(data: Buffer): void;
}

export interface SegmentDone {
  file: string;
  /** Wall-clock time the segment ended (when ffmpeg closed it) and its media duration. */
  endAt: number;
  durationMs: number;
}

export interface PullOptions {
  ffmpegPath: string;
  /**
   * An RTSP URL (with credentials: never logged), or `lavfi:<caption>` for the demo's simulated cameras: a small
   * generated H.264 test pattern, since they have no RTSP server to pull from.
   */
  url: string;
  stallMs: number;
  maxBoxBytes: number;
  retry: { initialMs: number; maxMs: number };
  /**
   * Pre-roll segments: where, and how long each (ffmpeg cuts at the next keyframe after it). A segment still open
   * after `maxOpenMs` means no keyframe came for that long: the pull is restarted and what it wrote deleted, since
   * the file would otherwise grow without end, unseen by the pre-roll's byte limit (which counts closed segments).
   */
  segments: { dir: string; segmentS: number; maxOpenMs: number; maxOpenBytes: number } | null;
  onSegment?: (s: SegmentDone) => void;
  onRestart?: (reason: string) => void;
  /** Camera pulls go through a relay that holds the credentials (rtsp-guard.ts); Basic only where this allows it. */
  rtspBasicAuth?: boolean;
  log: Logger;
}

/**
 * ffmpeg's last line often quotes the URL it pulled, credentials and all, and the reason goes to the log, to the
 * console (`video.error`, every role) and to failed clips. So the `user:password@` of every scheme is cut, `rtsps:`
 * included.
 */
const withoutCredentials = (text: string): string => text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^@\s/]*@/gi, '$1');

/** A segment's number in its run (`<prefix>-%06d.ts`), or -1 for another run's file. */
const segmentNumber = (name: string, prefix: string): number => (name.startsWith(`${prefix}-`) ? Number(name.slice(prefix.length + 1, -3)) : -1);

/**
 * Deletes the files a run wrote that ffmpeg never announced as complete segments: its segments are numbered in
 * order (`<prefix>-%06d.ts`), so those after the last one announced.
 */
function removeUnannounced(dir: string, prefix: string, lastAnnounced: number): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // the pre-roll was cleared (pull stopped)
  }
  for (const name of names) {
    if (segmentNumber(name, prefix) > lastAnnounced) rmSync(join(dir, name), { force: true });
  }
}

/** A run's segment file, named as ffmpeg is told to in `args` (`<prefix>-%06d.ts`, from 0). */
const segmentFile = (dir: string, prefix: string, n: number): string => join(dir, `${prefix}-${String(n).padStart(6, '0')}.ts`);

/**
 * Bytes of the files a run is writing that ffmpeg has not announced as complete: its open segment, and the one before
 * it when that one's announcement is still in the pipe. Two stats, not a directory listing, twice a second per pull.
 */
function unannouncedBytes(dir: string, prefix: string, lastAnnounced: number): number {
  let total = 0;
  for (const n of [lastAnnounced + 1, lastAnnounced + 2]) total += statSync(segmentFile(dir, prefix, n), { throwIfNoEntry: false })?.size ?? 0;
  return total;
}

/** Extra time for the first bytes of a run (RTSP handshake, stream probe). */
const STARTUP_MS = 10_000;

export type PullState = 'starting' | 'running' | 'retrying' | 'stopped';

export class LivePull {
  state: PullState = 'stopped';
  /** Why the last run ended, for the console (`degraded: no video`). */
  lastError: string | null = null;
  /** `h264`, `h265` (…) from the stream's init segment; null before the first one. */
  codec: string | null = null;
  private initSegment: Buffer | null = null;
  private readonly sinks = new Set<LiveSink>();
  /** Sinks that have their init segment but wait for a keyframe to start on. */
  private readonly waiting = new Set<LiveSink>();
  private child: ChildProcess | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private lastDataAt = 0;
  private readonly backoff: Backoff;
  private run = 0;
  /** The relay ffmpeg pulls a camera through, made at the first run and kept until stop(). */
  private guard: RtspGuard | undefined;
  private guardStarting = false;
  /** Why the relay closed the run's session, which says more than ffmpeg's last line. */
  private refusal: string | null = null;

  constructor(private readonly o: PullOptions) {
    this.backoff = new Backoff(o.retry.initialMs, o.retry.maxMs);
  }

  /** The running ffmpeg's process id (the benchmark reads its CPU and RSS). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get viewers(): number {
    return this.sinks.size;
  }

  start(): void {
    if (this.state !== 'stopped') return;
    this.spawn();
  }

  stop(): void {
    this.state = 'stopped';
    clearTimeout(this.retryTimer);
    clearInterval(this.stallTimer);
    const c = this.child;
    this.child = undefined;
    c?.kill('SIGKILL');
    this.initSegment = null;
    this.guard?.close();
    this.guard = undefined;
  }

  addSink(sink: LiveSink): void {
    this.sinks.add(sink);
    if (this.initSegment) {
      sink.init(this.initSegment);
      this.waiting.add(sink);
    }
  }

  removeSink(sink: LiveSink): void {
    this.sinks.delete(sink);
    this.waiting.delete(sink);
  }

  private args(prefix: string): string[] {
    const a = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
    if (this.o.url.startsWith('lavfi:')) {
      // The demo only: encode a generated pattern (real cameras are only ever remuxed).
      const src = 'testsrc2=size=320x240:rate=10,format=yuv420p';
      a.push('-re', '-f', 'lavfi', '-i', src, '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '10', '-b:v', '200k');
    } else {
      // A short probe: the stream's parameters come with the first keyframe; ffmpeg's default waits seconds more.
      a.push('-analyzeduration', '1000000', '-probesize', '262144', '-rtsp_transport', 'tcp', '-i', this.inputUrl(), '-c', 'copy');
    }
    // Fragments of at most half a second (split at keyframes too) keep the delay low even with long GOPs.
    a.push('-map', '0:v:0', '-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov+default_base_moof');
    // Flushed per fragment: a pipe would otherwise hold 32 KB, seconds of a small stream.
    a.push('-frag_duration', '500000', '-flush_packets', '1', 'pipe:1');
    const s = this.o.segments;
    if (s) {
      // Completed segments are announced on fd 3 as `name,start,end`, the moment ffmpeg closes each.
      a.push('-map', '0:v:0', ...(this.o.url.startsWith('lavfi:') ? ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-b:v', '200k'] : ['-c', 'copy']), '-f', 'segment', '-segment_time', String(s.segmentS), '-segment_format', 'mpegts');
      a.push('-segment_list', 'pipe:3', '-segment_list_type', 'csv', join(s.dir, `${prefix}-%06d.ts`));
    }
    return a;
  }

  /** What a new ffmpeg run opens: a camera through its relay (no credentials, a token of its own), the demo's pattern as it is. */
  private inputUrl(): string {
    return this.guard ? this.guard.runUrl(new URL(this.o.url)) : this.o.url;
  }

  /** The camera's RTSP address, from its URL. */
  private rtspTarget(): { host: string; port: number } {
    const url = new URL(this.o.url);
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (url.protocol === 'rtsps:' ? 322 : 554)) };
  }

  /** Starts the relay for a camera once; false while it starts (spawn() runs again when it is up). */
  private guarded(): boolean {
    if (this.guard || !/^rtsps?:/.test(this.o.url)) return true;
    if (this.guardStarting) return false;
    this.guardStarting = true;
    const url = new URL(this.o.url);
    RtspGuard.listen({
      ...this.rtspTarget(),
      tls: url.protocol === 'rtsps:',
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      allowBasic: this.o.rtspBasicAuth === true,
      onRefused: (reason) => (this.refusal = reason),
    }).then(
      (g) => {
        this.guardStarting = false;
        if (this.state === 'stopped') return g.close();
        this.guard = g;
        this.spawn();
      },
      (err: unknown) => {
        this.guardStarting = false;
        this.ended(`cannot start the RTSP relay: ${(err as Error).message}`);
      },
    );
    return false;
  }

  private spawn(): void {
    this.state = 'starting';
    if (!this.guarded()) return;
    this.run++;
    this.refusal = null;
    this.initSegment = null;
    // Pictures of pupils: a folder only the gateway's user can enter (ffmpeg makes the segments 0644 inside it).
    if (this.o.segments) privateDir(this.o.segments.dir);
    const prefix = `${Date.now().toString(36)}-${this.run}`;
    let child: ChildProcess;
    try {
      // A process group of its own (`detached`): a Ctrl-C in the gateway's terminal signals the whole foreground group,
      // and an ffmpeg that exited on it before the gateway stopped its pull was taken for a camera failure while
      // shutting down ("live pull ended; retrying"). The gateway stops its pulls itself; if it dies instead, ffmpeg
      // ends at its next write to the pipe nobody reads (test/e2e/ctrl-c-stop.test.ts).
      child = spawn(this.o.ffmpegPath, this.args(prefix), { stdio: ['ignore', 'pipe', 'pipe', this.o.segments ? 'pipe' : 'ignore'], detached: true });
    } catch (err) {
      this.ended(`cannot start ffmpeg: ${(err as Error).message}`);
      return;
    }
    this.child = child;
    const splitter = new Fmp4Splitter(this.o.maxBoxBytes);
    let stderr = '';
    let failed: string | null = null;
    this.lastDataAt = Date.now();
    child.stdout!.on('data', (chunk: Buffer) => {
      if (this.child !== child) return;
      this.lastDataAt = Date.now();
      try {
        for (const part of splitter.push(chunk)) {
          if (part.kind === 'init') this.onInit(part.data);
          else this.onFragment(part.data, part.keyframe);
        }
      } catch (err) {
        failed = (err as Error).message;
        child.kill('SIGKILL');
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-2000);
    });
    const list = child.stdio[3] as Readable | null | undefined;
    let lastAnnounced = -1;
    let segmentAt = Date.now();
    if (list && this.o.segments) {
      const dir = this.o.segments.dir;
      createInterface({ input: list }).on('line', (line) => {
        const [name, start, end] = line.split(',');
        const durationMs = (Number(end) - Number(start)) * 1000;
        if (!name || !/^[\w-]+\.ts$/.test(name) || !Number.isFinite(durationMs)) return;
        lastAnnounced = Math.max(lastAnnounced, segmentNumber(name, prefix));
        segmentAt = Date.now();
        this.o.onSegment?.({ file: join(dir, name), endAt: Date.now(), durationMs });
      });
    }
    child.on('error', (err) => {
      failed ??= `ffmpeg: ${err.message}`;
    });
    child.on('close', (code, signal) => {
      // The segment this run left open (never announced, so never the pre-roll's) goes with it.
      if (this.o.segments) removeUnannounced(this.o.segments.dir, prefix, lastAnnounced);
      if (this.child !== child) return;
      this.child = undefined;
      const last = stderr.trim().split('\n').pop() || `ffmpeg exited (${signal ?? code})`;
      const why = failed ?? this.refusal ?? (this.guard ? this.guard.camerasWords(last, this.rtspTarget()) : last);
      this.ended(withoutCredentials(why));
    });
    clearInterval(this.stallTimer);
    // At least twice a second: at link speed an open pre-roll segment grows tens of MB between two checks.
    this.stallTimer = setInterval(() => {
      // Connecting and probing the stream take a while before the first byte; after it, `stallMs` is the limit.
      const allowed = this.state === 'running' ? this.o.stallMs : this.o.stallMs + STARTUP_MS;
      if (this.child !== child) return;
      const seg = this.o.segments;
      if (Date.now() - this.lastDataAt >= allowed) failed = `no video for ${Math.round(this.o.stallMs / 1000)} s (stalled)`;
      else if (seg && Date.now() - segmentAt >= seg.maxOpenMs + (this.state === 'running' ? 0 : STARTUP_MS)) {
        failed = `no keyframe for ${Math.round(seg.maxOpenMs / 1000)} s: the pre-roll segment never closed`;
      } else if (seg && unannouncedBytes(seg.dir, prefix, lastAnnounced) > seg.maxOpenBytes) {
        // The open segment counts against nothing until it closes: a high bitrate with keyframes far apart filled
        // the disk past the pre-roll's byte cap, by time alone.
        failed = `a pre-roll segment passed ${Math.round(seg.maxOpenBytes / 1048576)} MiB before a keyframe closed it (cameras.clipBufferBytes)`;
      } else return;
      child.kill('SIGKILL');
    }, Math.min(500, Math.max(100, Math.floor(this.o.stallMs / 4))));
  }

  private onInit(data: Buffer): void {
    this.initSegment = data;
    const codec = codecName(videoCodecOf(data));
    // Said once per change: an H.265 camera plays on few browsers, which is worth a line for whoever reads the log.
    if (codec !== this.codec && codec !== 'h264') this.o.log.info({ codec }, 'camera stream codec');
    this.codec = codec;
    for (const s of this.sinks) {
      s.init(data);
      this.waiting.add(s);
    }
  }

  private onFragment(data: Buffer, keyframe: boolean): void {
    if (this.state !== 'running') {
      this.state = 'running';
      this.lastError = null;
      this.backoff.reset();
    }
    for (const s of this.sinks) {
      if (this.waiting.has(s)) {
        if (!keyframe) continue;
        this.waiting.delete(s);
      }
      s.fragment(data);
    }
  }

  private ended(reason: string): void {
    clearInterval(this.stallTimer);
    if (this.state === 'stopped') return;
    this.lastError = reason;
    this.state = 'retrying';
    const wait = this.backoff.next();
    this.o.log.warn({ reason, retryInMs: wait }, 'live pull ended; retrying');
    this.o.onRestart?.(reason);
    this.retryTimer = setTimeout(() => {
      if (this.state === 'retrying') this.spawn();
    }, wait);
  }
}

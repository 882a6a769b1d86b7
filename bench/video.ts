/**
 * Live video cost. GStreamer's RTSP server (test/video/rtsp-server.py) sends 1080p H.264 at 4 Mbit/s; in the same
 * run we measure
 *  - the baseline: bare `ffmpeg -c copy` remuxing it to fragmented MP4 into a reader that only counts bytes;
 *  - the gateway's pull (LivePull: the same ffmpeg plus the pre-roll segment output, the fMP4 splitter and one
 *    browser-like consumer that takes every fragment): CPU of ffmpeg and of this process, RSS of ffmpeg;
 *  - how far fragments arrive behind the media clock (each fragment's arrival minus its media time, relative to
 *    the first), i.e. delay the gateway adds or accumulates, not glass-to-glass delay;
 *  - the time from the end of the post-roll to the clip being ready (concat -c copy, faststart).
 * Env: BENCH_VIDEO_S (seconds per phase, 20), BENCH_VIDEO_FPS (25), BENCH_VIDEO_KBPS (4000).
 * Goal (issue 19): ≤ 3 % of one core and ≤ 20 MB RSS per stream, added delay ≤ 1.5 s, clip ready ≤ 3 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { ClipStore, clipMigrations } from '../gateway/cameras/live/clips.js';
import { Fmp4Splitter } from '../gateway/cameras/live/fmp4.js';
import { PreRollBuffer } from '../gateway/cameras/live/preroll.js';
import { LivePull } from '../gateway/cameras/live/pull.js';
import { systemClock } from '../gateway/core/clock.js';
import { packageInfo } from '../gateway/core/version.js';
import { openDatabase } from '../gateway/storage/db.js';
import type { BenchResult } from './run.js';

const SECONDS = Number(process.env.BENCH_VIDEO_S ?? 20);
const FPS = Number(process.env.BENCH_VIDEO_FPS ?? 25);
const KBPS = Number(process.env.BENCH_VIDEO_KBPS ?? 4000);
const TICK = 100; // clock ticks per second on Linux

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;

/**
 * CPU seconds (user + system), RSS and private bytes of a process, from /proc. RSS counts ffmpeg's shared libraries
 * (libavcodec and friends, ~40 MB, shared by every ffmpeg on the box); private memory is what one more stream costs.
 */
function proc(pid: number): { cpuS: number; rss: number; priv: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(f[11]) + Number(f[12])) / TICK;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(rollup)?.[1] ?? 0);
  return { cpuS, rss: rssKb * 1024, priv: (kb('Private_Clean') + kb('Private_Dirty')) * 1024 };
}

async function rtspServer(): Promise<{ child: ChildProcess; url: string }> {
  const script = join(packageInfo().root, 'test', 'video', 'rtsp-server.py');
  const child = spawn('/usr/bin/python3', [script, '--width', '1920', '--height', '1080', '--fps', String(FPS), '--bitrate', String(KBPS), '--pattern', 'snow'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`rtsp-server.py exited (${c})`)));
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l.startsWith('PORT ')) resolve(Number(l.slice(5)));
    });
  });
  return { child, url: `rtsp://127.0.0.1:${port}/profile_1` };
}

/** Samples a process over the window after a warm-up: CPU share of one core and peak RSS. */
async function sample(pid: () => number | undefined): Promise<{ cpuPct: number; rssMb: number; privMb: number; nodeCpuPct: number }> {
  await sleep(5_000); // connect, probe, first keyframes
  const p = pid();
  if (!p) throw new Error('ffmpeg is not running');
  const a = proc(p);
  const nodeA = process.cpuUsage();
  let peak = a.rss;
  let peakPriv = a.priv;
  const t0 = performance.now();
  for (let i = 0; i < SECONDS; i++) {
    await sleep(1_000);
    const now = proc(p);
    peak = Math.max(peak, now.rss);
    peakPriv = Math.max(peakPriv, now.priv);
  }
  const b = proc(p);
  const wall = (performance.now() - t0) / 1000;
  const nodeB = process.cpuUsage(nodeA);
  return {
    cpuPct: round(((b.cpuS - a.cpuS) / wall) * 100),
    rssMb: round(peak / 1024 / 1024),
    privMb: round(peakPriv / 1024 / 1024),
    nodeCpuPct: round(((nodeB.user + nodeB.system) / 1e6 / wall) * 100),
  };
}

export default async function video(): Promise<BenchResult> {
  const server = await rtspServer();
  const dir = mkdtempSync(join(tmpdir(), 'campus-bench-video-'));
  try {
    // Baseline: the remux alone.
    const bare = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-rtsp_transport', 'tcp', '-i', server.url, '-map', '0:v:0', '-c', 'copy', '-f', 'mp4',
      '-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '500000', '-flush_packets', '1', 'pipe:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let bareBytes = 0;
    bare.stdout.on('data', (d: Buffer) => (bareBytes += d.length));
    const base = await sample(() => bare.pid);
    const bitrateKbps = round((bareBytes * 8) / 1000 / (SECONDS + 5), 0);
    bare.kill('SIGKILL');

    // The gateway's pull: fMP4 to a consumer, segments to the pre-roll.
    const segDir = join(dir, 'preroll');
    const buf = new PreRollBuffer(segDir, 20_000, 256 * 1024 * 1024);
    const arrivals: { at: number; media: number }[] = [];
    let mediaT = 0;
    let timescale = 90_000;
    const consumer = new Fmp4Splitter(16 * 1024 * 1024);
    const pull = new LivePull({
      ffmpegPath: 'ffmpeg',
      url: server.url,
      stallMs: 10_000,
      maxBoxBytes: 16 * 1024 * 1024,
      retry: { initialMs: 500, maxMs: 5_000 },
      segments: { dir: segDir, segmentS: 1 },
      onSegment: (s) => buf.add(s),
      log: pino({ level: 'silent' }),
    });
    // A browser-like consumer: it gets every byte a viewer would and parses the boxes as MSE would.
    pull.addSink({
      init: (d) => {
        consumer.push(d);
        const i = d.indexOf('mdhd', 0, 'latin1');
        if (i > 0) timescale = d.readUInt32BE(i + 4 + 4 + 8 + (d[i + 4] === 1 ? 8 : 0));
      },
      fragment: (d) => {
        consumer.push(d);
        const i = d.indexOf('tfdt', 0, 'latin1');
        if (i > 0) mediaT = d[i + 4] === 1 ? Number(d.readBigUInt64BE(i + 8)) : d.readUInt32BE(i + 8);
        arrivals.push({ at: performance.now(), media: (mediaT / timescale) * 1000 });
      },
    });
    pull.start();
    const gw = await sample(() => pull.pid);
    const first = arrivals[Math.min(10, arrivals.length - 1)]!;
    const lag = arrivals.slice(10).map((a) => a.at - first.at - (a.media - first.media));
    const addedDelayS = round(Math.max(0, ...lag) / 1000, 2);

    // A clip: 10 s before, 10 s after; timed from the end of the post-roll.
    const db = openDatabase(join(dir, 'clips.db'), clipMigrations);
    const clips = new ClipStore(db, join(dir, 'clips'), systemClock, { maxCount: 10, maxBytes: 1 << 30 }, 'ffmpeg');
    const eventAt = Date.now();
    const release = buf.hold(eventAt - 10_000);
    const postEnd = eventAt + 10_000;
    await buf.waitUntilCovered(postEnd, 30_000);
    const cutFrom = Date.now();
    const clip = await clips.cut('bench', null, eventAt, buf.between(eventAt - 10_000, postEnd));
    const clipReadyS = round((Date.now() - postEnd) / 1000, 2);
    const cutS = round((Date.now() - cutFrom) / 1000, 2);
    release();
    pull.stop();
    db.close();

    const perStreamCpu = round(gw.cpuPct + gw.nodeCpuPct);
    const met = perStreamCpu <= 3 && gw.privMb <= 20 && addedDelayS <= 1.5 && clipReadyS <= 3;
    return {
      name: 'video',
      figures: {
        'stream (1080p, kbit/s measured)': bitrateKbps,
        'fps': FPS,
        'baseline ffmpeg CPU % of a core': base.cpuPct,
        'baseline ffmpeg RSS MB (private)': `${base.rssMb} (${base.privMb})`,
        'gateway ffmpeg CPU % (remux + pre-roll)': gw.cpuPct,
        'gateway node CPU % (split + consumer)': gw.nodeCpuPct,
        'gateway CPU % per stream': perStreamCpu,
        'gateway ffmpeg RSS MB (private)': `${gw.rssMb} (${gw.privMb})`,
        'added delay s (vs media clock)': addedDelayS,
        'clip MB': round(clip.bytes / 1024 / 1024),
        'clip ready s after post-roll': clipReadyS,
        'of which the cut (concat, faststart) s': cutS,
      },
      goal: '≤ 3 % of one core and ≤ 20 MB (private) RSS per stream, added delay ≤ 1.5 s, clip ready ≤ 3 s after the post-roll',
      met,
    };
  } finally {
    server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

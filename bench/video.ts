/**
 * Live video cost. GStreamer's RTSP server (test/video/rtsp-server.py) sends 1080p H.264 at 4 Mbit/s; in the same
 * run we measure
 *  - the baseline: bare `ffmpeg -c copy` remuxing it to fragmented MP4 into a reader that only counts bytes
 *    (CPU, and memory as RSS, PSS and private);
 *  - this process (the gateway's side of video) with no stream, then with one pull, then with BENCH_VIDEO_STREAMS
 *    pulls (LivePull: the same ffmpeg plus the pre-roll segment output, the fMP4 splitter and one browser-like
 *    consumer each): memory of this process and all its ffmpeg children, summed, as RSS and as PSS. For sizing a
 *    box: the fixed cost (once, with the first stream) and the cost of each further stream, one ffmpeg's memory by
 *    mapping (heap, anonymous, its libraries' private and shared pages) and node's V8 heap and external (Buffer)
 *    memory at 0, 1 and N streams;
 *  - the live delay: the server reports each keyframe the moment it hands it to its RTP payloader (its send time,
 *    `--report-keyframes`), and each consumer the moment the fragment starting with that keyframe is in (the same IDR
 *    slice, matched by its first bytes): receive minus send, for the bare ffmpeg and for every gateway stream. A
 *    fragment is complete only half a second after its keyframe (`-frag_duration`), which a viewer waits too;
 *  - the time from the end of the post-roll to the clip being ready (concat -c copy, faststart).
 * Env: BENCH_VIDEO_S (seconds per phase, 20), BENCH_VIDEO_FPS (25), BENCH_VIDEO_KBPS (4000), BENCH_VIDEO_STREAMS (4).
 * Goal (issue 19): ≤ 3 % of one core and ≤ 20 MB PSS per stream (what each further stream adds: docs/operations.md,
 * "Video: memory per stream, and live delay", says why), delay p99 ≤ 1.5 s, clip ready ≤ 3 s. On a shared machine
 * every figure moves with the load (printed): CPU most, PSS too (other ffmpegs share its libraries).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { ClipStore, clipMigrations } from '../gateway/cameras/live/clips.js';
import { Fmp4Splitter } from '../gateway/cameras/live/fmp4.js';
import { PreRollBuffer } from '../gateway/cameras/live/preroll.js';
import { LivePull } from '../gateway/cameras/live/pull.js';
import { systemClock } from '../gateway/core/clock.js';
import { packageInfo } from '../gateway/core/version.js';
import { openDatabase } from '../gateway/storage/db.js';
import { ascending, percentile } from './_latency.js';
import { readMappings, readMemory, readProc } from './_proc.js';
import type { BenchResult } from './run.js';

const SECONDS = Number(process.env.BENCH_VIDEO_S ?? 20);
const FPS = Number(process.env.BENCH_VIDEO_FPS ?? 25);
const KBPS = Number(process.env.BENCH_VIDEO_KBPS ?? 4000);
const STREAMS = Number(process.env.BENCH_VIDEO_STREAMS ?? 4);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;

/** Our own ffmpeg processes (their pids change on a restart: read each time). */
type Pids = () => (number | undefined)[];

interface GroupFigures {
  /** Means over the window of the group's summed memory, MB; `node*` this process's part of it. */
  rssMb: number;
  pssMb: number;
  privMb: number;
  nodeRssMb: number;
  nodePssMb: number;
  /** This process's V8 heap in use and its memory outside it (Buffers: fragments in flight, init segments), MB. */
  nodeHeapMb: number;
  nodeExternalMb: number;
  /** CPU of the ffmpeg processes and of this (node) process over the window, % of one core. */
  ffmpegCpuPct: number;
  nodeCpuPct: number;
  /** ffmpeg processes on the box outside this benchmark (other users' share pages with ours and lower our PSS). */
  otherFfmpeg: number;
  /** ffmpeg restarts seen in the window (a stall under load); their CPU is counted up to the last second. */
  restarts: number;
}

function ffmpegElsewhere(ours: Set<number>): number {
  let n = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || ours.has(Number(d))) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'ffmpeg') n++;
    } catch {
      // gone
    }
  }
  return n;
}

/**
 * Samples a group of processes once a second for SECONDS after a warm-up: the mean of the summed RSS, PSS and
 * private memory (the peak says less: V8 and ffmpeg both breathe), and CPU as a share of one core.
 */
async function sampleGroup(ffmpegPids: Pids, withNode: boolean, warmupMs = 5_000, seconds = SECONDS): Promise<GroupFigures> {
  await sleep(warmupMs); // connect, probe, first keyframes
  const pidsNow = (): number[] => ffmpegPids().filter((p): p is number => p !== undefined);
  // CPU seconds of each ffmpeg seen, first and last reading: a pull that restarts mid-window has a new pid, and
  // loses at most the last second of the old one.
  const cpu = new Map<number, { first: number; last: number }>();
  let restarts = -ffmpegPids().length;
  const readCpu = (): void => {
    for (const pid of pidsNow()) {
      try {
        const c = readProc(pid).cpuS;
        const had = cpu.get(pid);
        if (had) had.last = c;
        else {
          cpu.set(pid, { first: c, last: c });
          restarts++;
        }
      } catch {
        // exited between listing and reading
      }
    }
  };
  readCpu();
  const node0 = process.cpuUsage();
  const sums = { rss: 0, pss: 0, priv: 0, nodeRss: 0, nodePss: 0, heap: 0, external: 0 };
  let samples = 0;
  let others = 0;
  const t0 = performance.now();
  for (let i = 0; i < seconds; i++) {
    await sleep(1_000);
    readCpu();
    const pids = pidsNow();
    const all = withNode ? [process.pid, ...pids] : pids;
    for (const pid of all) {
      const m = readMemory(pid);
      sums.rss += m.rssBytes;
      sums.pss += m.pssBytes;
      sums.priv += m.privateBytes;
      if (pid === process.pid) {
        sums.nodeRss += m.rssBytes;
        sums.nodePss += m.pssBytes;
      }
    }
    const u = process.memoryUsage();
    sums.heap += u.heapUsed;
    sums.external += u.external;
    others = Math.max(others, ffmpegElsewhere(new Set(pids)));
    samples++;
  }
  const wall = (performance.now() - t0) / 1000;
  readCpu();
  const ffmpegCpuS = [...cpu.values()].reduce((t, c) => t + c.last - c.first, 0);
  const node = process.cpuUsage(node0);
  const mb = (b: number): number => round(b / samples / 1024 / 1024);
  return {
    rssMb: mb(sums.rss),
    pssMb: mb(sums.pss),
    privMb: mb(sums.priv),
    nodeRssMb: mb(sums.nodeRss),
    nodePssMb: mb(sums.nodePss),
    nodeHeapMb: mb(sums.heap),
    nodeExternalMb: mb(sums.external),
    ffmpegCpuPct: round((ffmpegCpuS / wall) * 100),
    nodeCpuPct: withNode ? round(((node.user + node.system) / 1e6 / wall) * 100) : 0,
    otherFfmpeg: others,
    restarts: Math.max(0, restarts),
  };
}

/** Keyframes the server sent, by their first IDR slice's first bytes (hex): when (epoch ms). */
type SentKeyframes = Map<string, number>;

async function rtspServer(): Promise<{ child: ChildProcess; url: string; sent: SentKeyframes }> {
  const script = join(packageInfo().root, 'test', 'video', 'rtsp-server.py');
  // --shared: one encoder for all the pulls (a camera serves each session from its one encoder too); the server's
  // own CPU is not what we measure, and on a 2-core box N 1080p encoders would starve everything else.
  const child = spawn('/usr/bin/python3', [script, '--width', '1920', '--height', '1080', '--fps', String(FPS), '--bitrate', String(KBPS), '--pattern', 'snow', '--shared', '--report-keyframes'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const sent: SentKeyframes = new Map();
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`rtsp-server.py exited (${c})`)));
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const [what, a, b] = l.split(' ');
      if (what === 'PORT') resolve(Number(a));
      else if (what === 'KEY' && b) {
        sent.set(b, Number(a));
        // A minute of keyframes is plenty to match against (one a second).
        if (sent.size > 120) sent.delete(sent.keys().next().value!);
      }
    });
  });
  return { child, url: `rtsp://127.0.0.1:${port}/profile_1`, sent };
}

/**
 * The key the server reports a keyframe by: the first 48 bytes (hex) of the first IDR slice (NAL type 5) in a
 * fragment's first sample. The fragment is `moof` then `mdat`, one video track, samples as length-prefixed NAL units.
 */
function keyframeKey(fragment: Buffer): string | null {
  const mdat = fragment.readUInt32BE(0);
  let off = mdat + 8;
  const end = Math.min(fragment.length, off + 512 * 1024);
  while (off + 5 <= end) {
    const n = fragment.readUInt32BE(off);
    if ((fragment[off + 4]! & 0x1f) === 5) return fragment.toString('hex', off + 4, Math.min(off + 4 + 48, end));
    off += 4 + n;
  }
  return null;
}

/**
 * Receive minus send of each keyframe consumers get, ms (those the server reported), once `on`: not while a stream
 * connects and probes, nor while the test server pauses its shared pipeline for a moment as each client joins.
 */
interface DelayMeter {
  on: boolean;
  delays: number[];
  see(fragment: Buffer, keyframe: boolean): void;
}

function delayMeter(sent: SentKeyframes): DelayMeter {
  const delays: number[] = [];
  return {
    on: false,
    delays,
    see(fragment, keyframe) {
      if (!this.on || !keyframe) return;
      const key = keyframeKey(fragment);
      const at = key === null ? undefined : sent.get(key);
      if (at !== undefined) delays.push(performance.timeOrigin + performance.now() - at);
    },
  };
}

/** p50 / p99 / max of a delay list, in s, and how many keyframes it holds. */
function delayFigures(ms: number[]): { p50: number; p99: number; max: number; n: number } {
  const s = ascending(ms);
  const sec = (v: number): number => round(v / 1000, 2);
  return { p50: sec(percentile(s, 50)), p99: sec(percentile(s, 99)), max: sec(s.at(-1) ?? Number.NaN), n: s.length };
}

export default async function video(): Promise<BenchResult> {
  const server = await rtspServer();
  const dir = mkdtempSync(join(tmpdir(), 'campus-bench-video-'));
  const pulls: LivePull[] = [];
  try {
    // Baseline: the remux alone, ffmpeg's defaults.
    const bare = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-rtsp_transport', 'tcp', '-i', server.url, '-map', '0:v:0', '-c', 'copy', '-f', 'mp4',
      '-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '500000', '-flush_packets', '1', 'pipe:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let bareBytes = 0;
    const bareSplit = new Fmp4Splitter(16 * 1024 * 1024);
    const bareDelay = delayMeter(server.sent);
    const bareOn = setTimeout(() => (bareDelay.on = true), 5_000);
    bare.stdout.on('data', (d: Buffer) => {
      bareBytes += d.length;
      for (const part of bareSplit.push(d)) if (part.kind === 'fragment') bareDelay.see(part.data, part.keyframe);
    });
    const base = await sampleGroup(() => [bare.pid], false);
    clearTimeout(bareOn);
    const bitrateKbps = round((bareBytes * 8) / 1000 / (SECONDS + 5), 0);
    const bareExited = once(bare, 'exit');
    bare.kill('SIGKILL');
    await bareExited;

    // The gateway with no stream: this process, as it is before any pull (the zero the per-stream cost is taken from).
    const zero = await sampleGroup(() => [], true, 1_000, 5);

    // STREAMS pulls (one, then the rest), each as the gateway runs one for a camera with a pre-roll: fMP4 to one browser-like consumer,
    // 1 s segments to the pre-roll. The first also gives the delay and the clip.
    // Each stream's live delay, kept only while all STREAMS run (the window the goal is judged on).
    const streamDelay = delayMeter(server.sent);
    let firstBuf: PreRollBuffer | undefined;
    const startPull = (n: number): void => {
      const segDir = join(dir, `preroll-${n}`);
      const buf = new PreRollBuffer(segDir, 20_000, 256 * 1024 * 1024);
      firstBuf ??= buf;
      const consumer = new Fmp4Splitter(16 * 1024 * 1024);
      const pull = new LivePull({
        ffmpegPath: 'ffmpeg',
        url: server.url,
        stallMs: 10_000,
        maxBoxBytes: 16 * 1024 * 1024,
        retry: { initialMs: 500, maxMs: 5_000 },
        segments: { dir: segDir, segmentS: 1, maxOpenMs: 30_000, maxOpenBytes: 32 << 20 },
        onSegment: (seg) => buf.add(seg),
        log: pino({ level: 'silent' }),
      });
      // A browser-like consumer: it gets every byte a viewer would and parses the boxes as MSE would.
      pull.addSink({
        init: (d) => void consumer.push(d),
        fragment: (d) => {
          for (const part of consumer.push(d)) if (part.kind === 'fragment') streamDelay.see(part.data, part.keyframe);
        },
      });
      pull.start();
      pulls.push(pull);
    };
    // One stream first, then the rest: what the first stream costs less what each further one adds is the fixed
    // cost of video on the box (ffmpeg's libraries mapped at all, node's code for it), paid once.
    startPull(0);
    const one = await sampleGroup(() => pulls.map((p) => p.pid), true);
    const firstFfmpeg = pulls[0]!.pid;
    const ffmpegMaps = firstFfmpeg === undefined ? undefined : readMappings(firstFfmpeg);
    for (let n = 1; n < STREAMS; n++) startPull(n);
    const measureFrom = setTimeout(() => (streamDelay.on = true), 5_000);
    const many = await sampleGroup(() => pulls.map((p) => p.pid), true);
    clearTimeout(measureFrom);
    streamDelay.on = false;
    const lastFfmpeg = pulls[0]!.pid;
    const ffmpegMapsN = lastFfmpeg === undefined ? undefined : readMappings(lastFfmpeg);
    const delay = delayFigures(streamDelay.delays);
    const bareDelayS = delayFigures(bareDelay.delays);

    // A clip from the first pull: 10 s before, 10 s after; timed from the end of the post-roll.
    const buf = firstBuf!;
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
    db.close();

    // Memory in PSS: ffmpeg's shared libraries (~30-40 MB, mapped by every ffmpeg) count once in all, split among the
    // pulls, so the sum is the box's real memory; RSS counts them once per ffmpeg (and node's own libraries in full),
    // so it overstates what N streams take together. The average over N streams (N with, less none, over N) carries
    // the fixed part divided by N, a figure that falls as N grows; the goal is judged on what each further stream
    // adds (N with, less one, over N - 1), with the fixed part printed beside it: docs/operations.md.
    const perStream = (k: 'rssMb' | 'pssMb' | 'privMb'): number => round((many[k] - zero[k]) / STREAMS);
    const perStreamCpu = round((many.ffmpegCpuPct + many.nodeCpuPct - zero.nodeCpuPct) / STREAMS);
    const pssPerStream = perStream('pssMb');
    // Sizing a box: PSS with k streams ≈ gateway with none + fixed + k × marginal.
    const marginalPss = STREAMS > 1 ? round((many.pssMb - one.pssMb) / (STREAMS - 1)) : Number.NaN;
    const fixedPss = round(one.pssMb - zero.pssMb - marginalPss);
    const mbOf = (b: number | undefined): number => (b === undefined ? Number.NaN : round(b / 1024 / 1024));
    const maps = (m: typeof ffmpegMaps): string =>
      m ? `${mbOf(m.heapBytes)} / ${mbOf(m.anonBytes)} / ${mbOf(m.libPrivateDirtyBytes)} / ${mbOf(m.libSharedPssBytes)} (${m.libraries} libraries)` : 'n/a';
    const met = perStreamCpu <= 3 && marginalPss <= 20 && delay.p99 <= 1.5 && clipReadyS <= 3;
    return {
      name: 'video',
      figures: {
        'stream (1080p, kbit/s measured)': bitrateKbps,
        fps: FPS,
        streams: STREAMS,
        'baseline ffmpeg CPU % of a core': base.ffmpegCpuPct,
        'baseline ffmpeg MB RSS / PSS / private': `${base.rssMb} / ${base.pssMb} / ${base.privMb}`,
        'gateway, 0 streams MB RSS / PSS': `${zero.rssMb} / ${zero.pssMb}`,
        [`gateway + ffmpegs, ${STREAMS} streams MB RSS / PSS`]: `${many.rssMb} / ${many.pssMb}`,
        'per stream MB RSS (overstated)': perStream('rssMb'),
        [`per stream MB PSS, average of ${STREAMS} (fixed part included)`]: pssPerStream,
        'per stream MB private (pages one process alone maps)': perStream('privMb'),
        'of which node MB PSS per stream': round((many.nodePssMb - zero.nodePssMb) / STREAMS),
        'each ffmpeg MB RSS / PSS': `${round((many.rssMb - many.nodeRssMb) / STREAMS)} / ${round((many.pssMb - many.nodePssMb) / STREAMS)}`,
        'gateway + ffmpeg, 1 stream MB PSS': one.pssMb,
        'fixed MB PSS (once per box: 1 stream less 1 marginal)': fixedPss,
        'per added stream MB PSS (the goal)': marginalPss,
        'one ffmpeg MB heap / anon / libs private dirty / libs shared PSS, alone': maps(ffmpegMaps),
        [`the same with ${STREAMS} ffmpegs`]: maps(ffmpegMapsN),
        [`node MB V8 heap used / external, 0 / 1 / ${STREAMS} streams`]: `${zero.nodeHeapMb} / ${zero.nodeExternalMb}, ${one.nodeHeapMb} / ${one.nodeExternalMb}, ${many.nodeHeapMb} / ${many.nodeExternalMb}`,
        'ffmpeg processes of others on the box': many.otherFfmpeg,
        'ffmpeg restarts in the window': many.restarts,
        [`ffmpeg CPU % (${STREAMS} remux + pre-roll)`]: many.ffmpegCpuPct,
        [`node CPU % (${STREAMS} split + consumer)`]: round(many.nodeCpuPct - zero.nodeCpuPct),
        'CPU % of a core per stream': perStreamCpu,
        'machine load (1 min) at the end': round(loadavg()[0]!, 1),
        'live delay s, bare ffmpeg: p50 / p99 / max (keyframes)': `${bareDelayS.p50} / ${bareDelayS.p99} / ${bareDelayS.max} (${bareDelayS.n})`,
        [`live delay s, gateway, ${STREAMS} streams: p50 / p99 / max (keyframes)`]: `${delay.p50} / ${delay.p99} / ${delay.max} (${delay.n})`,
        'clip MB': round(clip.bytes / 1024 / 1024),
        'clip ready s after post-roll': clipReadyS,
        'of which the cut (concat, faststart) s': cutS,
      },
      goal:
        '≤ 3 % of one core and ≤ 20 MB per stream (PSS each further stream adds to gateway + ffmpegs; the fixed part printed beside; docs/operations.md says why), live delay p99 ≤ 1.5 s (server send to consumer receive), clip ready ≤ 3 s after the post-roll',
      met,
    };
  } finally {
    for (const p of pulls) p.stop();
    server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

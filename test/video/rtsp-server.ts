/** Starts and stops test/video/rtsp-server.py (GStreamer's RTSP server) and follows its client count. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const SCRIPT = join(process.cwd(), 'test', 'video', 'rtsp-server.py');

export interface RtspServerOptions {
  /** 0: an ephemeral port (the default); a port to come back on after stop(). */
  port?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** kbit/s for x264 (with `pattern: 'snow'` it is reached: noise does not compress). */
  bitrate?: number;
  pattern?: 'ball' | 'snow';
  /** What the camera encodes: H.264 (default) or H.265. */
  codec?: 'h264' | 'h265';
  /** Frames between keyframes (default: one keyframe a second); huge: one keyframe, then none (H.264). */
  gopFrames?: number;
  /** Mount paths (default the fake ONVIF device's profile tokens). */
  paths?: string[];
  /** A login the camera asks for with HTTP Digest. */
  digest?: { user: string; password: string };
}

export class RtspTestServer {
  port = 0;
  /** RTSP clients connected now, and ever (across restarts). */
  connected = 0;
  total = 0;
  private child: ChildProcess | undefined;
  private readonly waiters = new Set<() => void>();
  private stderr = '';

  constructor(private readonly opts: RtspServerOptions = {}) {}

  url(path = 'profile_1'): string {
    return `rtsp://127.0.0.1:${this.port}/${path}`;
  }

  async start(): Promise<this> {
    const o = this.opts;
    const args = [SCRIPT, '--port', String(this.port || o.port || 0), '--width', String(o.width ?? 320), '--height', String(o.height ?? 240)];
    args.push('--bitrate', String(o.bitrate ?? 300), '--pattern', o.pattern ?? 'ball');
    args.push('--fps', String(o.fps ?? 10), '--paths', (o.paths ?? ['profile_1', 'profile_2']).join(','), '--codec', o.codec ?? 'h264');
    if (o.gopFrames) args.push('--gop', String(o.gopFrames));
    if (o.digest) args.push('--digest-user', o.digest.user, '--digest-password', o.digest.password);
    // Debian's interpreter by path: a pyenv/virtualenv python3 on PATH cannot import the gi bindings.
    const child = spawn('/usr/bin/python3', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.connected = 0;
    const before = this.total;
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    const lines = createInterface({ input: child.stdout });
    const ready = new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`rtsp-server.py exited (${code}): ${this.stderr}`)));
      lines.on('line', (line) => {
        const [what, a, b] = line.split(' ');
        if (what === 'PORT') resolve(Number(a));
        else if (what === 'CLIENTS') {
          this.connected = Number(a);
          this.total = before + Number(b);
        }
        for (const w of [...this.waiters]) w();
      });
    });
    this.port = await ready;
    return this;
  }

  /** Resolves once `cond` holds, re-checked on every line the server prints. */
  until(cond: (s: this) => boolean, ms = 20_000): Promise<void> {
    if (cond(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`RTSP server: condition not met within ${ms} ms (connected ${this.connected}, total ${this.total})`));
      }, ms);
      const check = (): void => {
        if (!cond(this)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  /** Kills the server (like a camera rebooting: every session drops). start() again comes back on the same port. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.child = undefined;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    this.connected = 0;
  }
}

export async function startRtspServer(opts: RtspServerOptions = {}): Promise<RtspTestServer> {
  return new RtspTestServer(opts).start();
}

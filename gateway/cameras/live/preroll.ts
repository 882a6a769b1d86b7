/**
 * The rolling pre-roll of one camera: the short segments its pull writes, kept for `keepMs` (pre-roll plus a margin)
 * and within `maxBytes`. A clip being cut holds the segments from its start on; the byte cap wins over any hold,
 * so the folder stays bounded whatever happens (a clip then comes out shorter, and says so by its duration).
 */
import { rmSync, statSync, unlinkSync } from 'node:fs';
import { privateFileIfExists } from '../../storage/private-files.js';
import type { SegmentDone } from './pull.js';

export interface Segment {
  file: string;
  startAt: number;
  endAt: number;
  bytes: number;
}

export class PreRollBuffer {
  private segments: Segment[] = [];
  private readonly holds = new Set<{ from: number }>();
  /** Called at each new segment, and with `ended` when the buffer is cleared (no segment will come). */
  private readonly waiters = new Set<(ended?: boolean) => void>();

  constructor(
    readonly dir: string,
    private readonly keepMs: number,
    private readonly maxBytes: number,
    private readonly onChange: (bytes: number) => void = () => {},
  ) {}

  get bytes(): number {
    return this.segments.reduce((n, s) => n + s.bytes, 0);
  }

  /** The newest instant covered. */
  get coveredUntil(): number {
    return this.segments.at(-1)?.endAt ?? 0;
  }

  add(done: SegmentDone): void {
    let bytes: number;
    try {
      // ffmpeg's segment muxer creates each file 0644; the folder is 0700, and the finished segment is made 0600
      // like every other picture of pupils (only the one being written keeps ffmpeg's mode, inside that folder).
      privateFileIfExists(done.file);
      bytes = statSync(done.file).size;
    } catch {
      return;
    }
    this.segments.push({ file: done.file, startAt: done.endAt - done.durationMs, endAt: done.endAt, bytes });
    this.prune(done.endAt);
    for (const w of [...this.waiters]) w();
  }

  /** Keeps segments ending after `from` until released (a clip waiting for its post-roll). */
  hold(from: number): () => void {
    const h = { from };
    this.holds.add(h);
    return () => {
      this.holds.delete(h);
      this.prune(Date.now());
    };
  }

  /** Segments overlapping [from, to], oldest first. */
  between(from: number, to: number): Segment[] {
    return this.segments.filter((s) => s.endAt > from && s.startAt < to);
  }

  /** Resolves when a segment ending at or after `at` is in, or false after `timeoutMs` or when the buffer is cleared. */
  waitUntilCovered(at: number, timeoutMs: number): Promise<boolean> {
    if (this.coveredUntil >= at) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(ok);
      };
      const check = (ended?: boolean): void => {
        if (this.coveredUntil >= at) done(true);
        else if (ended) done(false);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(check);
    });
  }

  private prune(now: number): void {
    const oldestHold = Math.min(...[...this.holds].map((h) => h.from));
    const keepFrom = Math.min(now - this.keepMs, oldestHold);
    let bytes = this.bytes;
    // The newest segment stays (a clip needs the latest video) unless it alone is over the cap: a camera with
    // keyframes far apart made single segments of 136 MB against a 64 MiB cap (an attacker review, 2026-12-06).
    while (this.segments.length > 1 || (this.segments.length === 1 && bytes > this.maxBytes)) {
      const s = this.segments[0]!;
      if (s.endAt >= keepFrom && bytes <= this.maxBytes) break;
      this.segments.shift();
      bytes -= s.bytes;
      try {
        unlinkSync(s.file);
      } catch {
        // already gone
      }
    }
    this.onChange(bytes);
  }

  /** Deletes every segment (the pull stopped); a clip waiting for its post-roll stops waiting. */
  clear(): void {
    this.segments = [];
    rmSync(this.dir, { recursive: true, force: true });
    this.onChange(0);
    for (const w of [...this.waiters]) w(true);
  }
}

/**
 * Fragmented MP4 as ffmpeg writes it with `-movflags frag_keyframe+empty_moov+default_base_moof`: `ftyp` and `moov`
 * (the init segment every viewer needs first, kept for late joiners), then `moof`+`mdat` pairs (the fragments).
 * Only top-level boxes are split here; we never look inside an `mdat`.
 */

export type Fmp4Part = { kind: 'init'; data: Buffer } | { kind: 'fragment'; data: Buffer; keyframe: boolean };

export class Fmp4Error extends Error {
  readonly code = 'bad_fmp4';
}

/**
 * Splits a byte stream into the init segment and fragments. Throws Fmp4Error on a box it cannot accept.
 *
 * Memory: a pipe delivers a fragment (~250 KB at 4 Mbit/s) in 64 KB reads. The bytes are joined once, when the box
 * they are waiting for is complete (not on every read), and a fragment whose `moof` and `mdat` arrive together is
 * handed on as a view of those bytes rather than a copy: per stream, at most one fragment and one read are held.
 */
export class Fmp4Splitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes the first incomplete box needs before parsing is worth another try (0: unknown, try). */
  private need = 0;
  private init: Buffer[] = [];
  private moof: Buffer | null = null;

  /** `maxBoxBytes` bounds memory: one box larger than that is not a stream we can serve. */
  constructor(private readonly maxBoxBytes: number) {}

  push(chunk: Buffer): Fmp4Part[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.need) return [];
    const out: Fmp4Part[] = [];
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    let off = 0;
    this.need = 0;
    for (;;) {
      const size = this.boxSize(buf, off);
      if (size === null || buf.length - off < size) {
        this.need = size ?? headerNeed(buf, off);
        break;
      }
      const type = buf.toString('latin1', off + 4, off + 8);
      if (type === 'moof' && this.moof === null) {
        // Wait for the mdat that follows, so the fragment is one view of contiguous bytes (no copy).
        const next = this.boxSize(buf, off + size);
        if (next === null || buf.length - off - size < next) {
          this.need = size + (next ?? headerNeed(buf, off + size));
          break;
        }
        if (buf.toString('latin1', off + size + 4, off + size + 8) === 'mdat') {
          const moof = buf.subarray(off, off + size);
          out.push({ kind: 'fragment', data: buf.subarray(off, off + size + next), keyframe: startsWithSync(moof) });
          off += size + next;
          continue;
        }
      }
      this.box(type, buf.subarray(off, off + size), out);
      off += size;
    }
    // The rest is at most one incomplete box (or box pair): kept as a view, joined with what follows next time.
    const rest = buf.subarray(off);
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    return out;
  }

  /** The size of the box whose header starts at `off`; null when the header is not all there yet. */
  private boxSize(buf: Buffer, off: number): number | null {
    if (buf.length - off < 8) return null;
    let size = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    let header = 8;
    if (size === 1) {
      if (buf.length - off < 16) return null;
      const big = buf.readBigUInt64BE(off + 8);
      if (big > BigInt(this.maxBoxBytes)) throw new Fmp4Error(`box ${type} of ${big} bytes is over the limit`);
      size = Number(big);
      header = 16;
    } else if (size === 0) {
      throw new Fmp4Error(`box ${type} runs to the end of the stream: not a fragmented MP4`);
    }
    if (size < header) throw new Fmp4Error(`box ${type} has an impossible size ${size}`);
    if (size > this.maxBoxBytes) throw new Fmp4Error(`box ${type} of ${size} bytes is over the limit`);
    return size;
  }

  private box(type: string, data: Buffer, out: Fmp4Part[]): void {
    switch (type) {
      case 'ftyp':
        this.init = [Buffer.from(data)];
        return;
      case 'moov':
        if (!this.init.length) throw new Fmp4Error('moov without ftyp');
        this.init.push(data);
        // A copy: the init segment is kept for late joiners and must not pin the read it came in.
        out.push({ kind: 'init', data: Buffer.concat(this.init) });
        this.init = [];
        return;
      case 'moof':
        this.moof = Buffer.from(data);
        return;
      case 'mdat':
        if (!this.moof) throw new Fmp4Error('mdat without moof');
        out.push({ kind: 'fragment', data: Buffer.concat([this.moof, data]), keyframe: startsWithSync(this.moof) });
        this.moof = null;
        return;
      default:
        // styp, sidx, free, mfra, …: nothing a viewer needs.
        return;
    }
  }
}

/** Bytes from `off` needed to read the box header there: 8, or 16 once a 64-bit size is announced. */
function headerNeed(buf: Buffer, off: number): number {
  return buf.length - off >= 8 && buf.readUInt32BE(off) === 1 ? 16 : 8;
}

/** Child boxes of a container box's payload. */
function* children(buf: Buffer, start: number, end: number): Generator<{ type: string; start: number; end: number }> {
  let off = start;
  while (off + 8 <= end) {
    const size = buf.readUInt32BE(off);
    if (size < 8 || off + size > end) return;
    yield { type: buf.toString('latin1', off + 4, off + 8), start: off + 8, end: off + size };
    off += size;
  }
}

const NON_SYNC = 0x10000;

/**
 * Whether the fragment's first sample is a sync sample (a keyframe): a late joiner must start on one. From the first
 * `trun`'s first-sample flags, else its first sample's flags, else `tfhd`'s defaults; unknown counts as a keyframe
 * (ffmpeg with frag_keyframe starts every fragment on one unless frag_duration split a GOP, and then it says so).
 */
export function startsWithSync(moof: Buffer): boolean {
  for (const traf of children(moof, 8, moof.length)) {
    if (traf.type !== 'traf') continue;
    let defaults: number | null = null;
    for (const b of children(moof, traf.start, traf.end)) {
      if (b.type === 'tfhd') {
        const flags = moof.readUInt32BE(b.start) & 0xffffff;
        let p = b.start + 8; // version/flags, track_ID
        if (flags & 0x01) p += 8;
        if (flags & 0x02) p += 4;
        if (flags & 0x08) p += 4;
        if (flags & 0x10) p += 4;
        if (flags & 0x20 && p + 4 <= b.end) defaults = moof.readUInt32BE(p);
      } else if (b.type === 'trun') {
        const flags = moof.readUInt32BE(b.start) & 0xffffff;
        let p = b.start + 8; // version/flags, sample_count
        if (flags & 0x01) p += 4;
        if (flags & 0x04) return (moof.readUInt32BE(p) & NON_SYNC) === 0;
        if (flags & 0x400) {
          if (flags & 0x100) p += 4;
          if (flags & 0x200) p += 4;
          return (moof.readUInt32BE(p) & NON_SYNC) === 0;
        }
        return defaults === null ? true : (defaults & NON_SYNC) === 0;
      }
    }
  }
  return true;
}

/**
 * The codec by the name staff know, from a sample entry: `h264` (avc1, avc3), `h265` (hvc1, hev1: most browsers
 * cannot play it, so the console shows snapshots), else the sample entry itself; null when unknown.
 */
export function codecName(sampleEntry: string | null): string | null {
  if (sampleEntry === 'avc1' || sampleEntry === 'avc3') return 'h264';
  if (sampleEntry === 'hvc1' || sampleEntry === 'hev1') return 'h265';
  return sampleEntry;
}

/** The codec a `moov` declares for its first video track (`avc1`, `hvc1`, `hev1`, …), or null. */
export function videoCodecOf(init: Buffer): string | null {
  const i = init.indexOf('stsd', 0, 'latin1');
  if (i < 0 || i + 20 > init.length) return null;
  // stsd: type(4) version/flags(4) entry_count(4) then the first entry: size(4) format(4)
  return init.toString('latin1', i + 16, i + 20);
}

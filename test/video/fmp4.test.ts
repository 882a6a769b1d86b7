/** The fMP4 splitter on ffmpeg's own output, cut at every possible place, and on hostile input. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Fmp4Error, Fmp4Splitter, videoCodecOf, type Fmp4Part } from '../../gateway/cameras/live/fmp4.js';

const run = promisify(execFile);

/** Two seconds of H.264 as the gateway asks ffmpeg for it (keyframe every 5 frames, fragments of at most 0.5 s). */
async function sample(): Promise<Buffer> {
  const { stdout } = await run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '5',
      '-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '200000', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 10 * 1024 * 1024 },
  );
  return stdout;
}

describe('fMP4 splitter', () => {
  it('finds the init segment and every fragment however the bytes arrive, and which fragments start on a keyframe', async () => {
    const data = await sample();
    const whole = new Fmp4Splitter(1 << 20).push(data);
    expect(whole[0]!.kind).toBe('init');
    expect(videoCodecOf(whole[0]!.data)).toBe('avc1');
    const frags = whole.filter((p): p is Extract<Fmp4Part, { kind: 'fragment' }> => p.kind === 'fragment');
    expect(frags.length).toBeGreaterThanOrEqual(4);
    // Keyframes every 0.5 s, fragments every 0.2 s: some fragments start on one, some do not.
    expect(frags[0]!.keyframe).toBe(true);
    expect(frags.some((f) => !f.keyframe)).toBe(true);
    for (const f of frags) expect(f.data.toString('latin1', 4, 8)).toBe('moof');
    // Nothing lost or reordered: ftyp, moov and the moof+mdat pairs are the stream up to ffmpeg's closing mfra.
    const joined = Buffer.concat(whole.map((p) => p.data));
    expect(joined.equals(data.subarray(0, joined.length))).toBe(true);
    expect(data.toString('latin1', joined.length + 4, joined.length + 8)).toBe('mfra');

    // Each part comes out as soon as its last byte is in, not when the next part starts: a viewer is never one
    // fragment behind. Pushed in two pieces per part, split mid-part.
    const live = new Fmp4Splitter(1 << 20);
    let at = 0;
    let emitted = 0;
    for (const p of whole) {
      const mid = at + Math.floor(p.data.length / 2);
      emitted += live.push(data.subarray(at, mid)).length;
      expect(emitted).toBe(whole.indexOf(p));
      at += p.data.length;
      emitted += live.push(data.subarray(mid, at)).length;
      expect(emitted).toBe(whole.indexOf(p) + 1);
    }

    for (const step of [1, 7, 4096]) {
      const s = new Fmp4Splitter(1 << 20);
      const parts: Fmp4Part[] = [];
      for (let i = 0; i < data.length; i += step) parts.push(...s.push(data.subarray(i, i + step)));
      expect(parts.map((p) => [p.kind, p.data.length, p.kind === 'fragment' && p.keyframe])).toEqual(whole.map((p) => [p.kind, p.data.length, p.kind === 'fragment' && p.keyframe]));
      // The same bytes, whether a fragment came as one view of a read or joined from many.
      parts.forEach((p, i) => expect(p.data.equals(whole[i]!.data)).toBe(true));
    }
  });

  it('refuses a box over the limit, a box smaller than its header and media before a fragment header', () => {
    const box = (size: number, type: string): Buffer => {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(size);
      b.write(type, 4, 'latin1');
      return b;
    };
    expect(() => new Fmp4Splitter(1024).push(box(4096, 'mdat'))).toThrow(Fmp4Error);
    expect(() => new Fmp4Splitter(1024).push(Buffer.concat([box(1, 'mdat'), Buffer.from([0, 0, 0, 1, 0, 0, 0, 0])]))).toThrow(/over the limit/);
    expect(() => new Fmp4Splitter(1024).push(box(4, 'moof'))).toThrow(/impossible size/);
    expect(() => new Fmp4Splitter(1024).push(box(0, 'mdat'))).toThrow(/not a fragmented MP4/);
    expect(() => new Fmp4Splitter(1024).push(Buffer.concat([box(8, 'mdat')]))).toThrow(/mdat without moof/);
    // A box between moof and mdat (not what ffmpeg writes, but valid MP4) is skipped: the fragment is moof + mdat.
    const moof = Buffer.concat([box(16, 'moof'), Buffer.alloc(8)]);
    const mdat = Buffer.concat([box(12, 'mdat'), Buffer.from([1, 2, 3, 4])]);
    const parts = new Fmp4Splitter(1024).push(Buffer.concat([moof, box(8, 'free'), mdat]));
    expect(parts.map((p) => p.data)).toEqual([Buffer.concat([moof, mdat])]);
    // Nothing is held for a box that never completes beyond the box itself.
    expect(new Fmp4Splitter(1024).push(box(1000, 'free'))).toEqual([]);
  });
});

import { HeldBytesParser, ETX, nextStx, STX, type FrameRead } from './types.js';

const FRAME = 14; // STX + 10 hex + 2 hex checksum + ETX

const isHex = (b: number): boolean => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

/**
 * `em-ascii` (RDM6300/RDM630 and clones): STX, 10 ASCII hex digits (customer/version byte + 4 ID bytes),
 * 2 ASCII hex digits = XOR of the 5 decoded bytes, ETX. The UID is the 5 bytes (`06008E6D5D`).
 *
 * A non-hex byte where a digit belongs ends the frame early: it is dropped (`bad_length` when that byte is a
 * start or end byte — a frame cut short — else `bad_format`) and scanning resumes *at* that byte, so a new frame
 * starting there is not lost. At most one frame's worth of bytes is ever held.
 */
export class EmAsciiParser extends HeldBytesParser {

  push(chunk: Buffer): FrameRead[] {
    const out: FrameRead[] = [];
    const b = this.joinHeld(chunk);
    let i = 0;
    scan: while (i < b.length) {
      const next = nextStx(b, i);
      this.noiseBytes += next.skipped;
      i = next.at;
      if (i === b.length) break;
      const start = i;
      // Check the digits that have arrived so far, so a cut-off frame is noticed before 14 bytes are in.
      const digitsEnd = Math.min(b.length, start + 13);
      for (let k = start + 1; k < digitsEnd; k++) {
        const c = b[k]!;
        if (!isHex(c)) {
          this.drop(c === STX || c === ETX ? 'bad_length' : 'bad_format');
          i = c === STX ? k : k + 1;
          continue scan;
        }
      }
      if (b.length - start < FRAME) break; // wait for the rest
      if (b[start + 13] !== ETX) {
        this.drop('bad_length');
        i = start + 1;
        continue;
      }
      const text = b.toString('latin1', start + 1, start + 13).toUpperCase();
      const bytes = Buffer.from(text.slice(0, 10), 'hex');
      const xor = bytes.reduce((a, v) => a ^ v, 0);
      if (xor !== Number.parseInt(text.slice(10), 16)) this.drop('bad_checksum');
      else out.push({ uid: text.slice(0, 10), partial: false });
      i = start + FRAME;
    }
    this.holdFrom(b, i);
    return out;
  }
}

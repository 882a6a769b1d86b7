import { HeldBytesParser, ETX, nextStx, type FrameRead } from './types.js';

const TYPE_MIFARE = 0x01;
const TYPE_EM = 0x02;
const SERIAL_LENGTHS = [4, 5, 7];
/** The longest frame we accept: STX LEN TYPE + 7 serial bytes + BCC ETX, read the longer way (see below). */
const MAX_FRAME = 13;

/**
 * `stx-bcc` binary frames (7941E-family and similar modules): STX, LEN, TYPE (0x01 Mifare, 0x02 EM4100),
 * the serial bytes, BCC = XOR of LEN, TYPE and the serial bytes, ETX.
 *
 * What LEN counts differs between documents: the reference example `02 0A 02 06 00 8E 6D 5D B0 03` has
 * LEN 0x0A = the whole frame (STX to ETX, 10 bytes), while its prose says "every byte after STX" (9). We accept
 * both readings: the whole-frame one first, then the after-STX one; a reading is taken only when its ETX
 * sits where LEN says and its BCC matches, so the two cannot be confused on a valid frame.
 * Serial lengths of 4, 5 or 7 bytes are accepted; a 5-byte Mifare serial with a leading 0x00 is a 4-byte UID
 * padded by the module and is returned as the 4 bytes.
 */
export class StxBccParser extends HeldBytesParser {

  push(chunk: Buffer): FrameRead[] {
    const out: FrameRead[] = [];
    const b = this.joinHeld(chunk);
    let i = 0;
    while (i < b.length) {
      const next = nextStx(b, i);
      this.noiseBytes += next.skipped;
      i = next.at;
      if (i === b.length) break;
      const start = i;
      if (b.length - start < 2) break;
      const len = b[start + 1]!;
      const totals = [len, len + 1].filter((t) => SERIAL_LENGTHS.includes(t - 5));
      if (totals.length === 0) {
        this.drop('bad_length');
        i = start + 1;
        continue;
      }
      const needed = Math.max(...totals);
      let done = false;
      let waiting = false;
      let reason: 'bad_length' | 'bad_checksum' | 'bad_type' = 'bad_length';
      for (const total of totals) {
        if (b.length - start < total) {
          waiting = true;
          break;
        }
        const frame = b.subarray(start, start + total);
        if (frame[total - 1] !== ETX) continue;
        const type = frame[2]!;
        let bcc = 0;
        for (let k = 1; k < total - 2; k++) bcc ^= frame[k]!;
        if (bcc !== frame[total - 2]) {
          reason = 'bad_checksum';
          continue;
        }
        if (type !== TYPE_MIFARE && type !== TYPE_EM) {
          reason = 'bad_type';
          continue;
        }
        let serial = frame.subarray(3, total - 2);
        if (type === TYPE_MIFARE && serial.length === 5 && serial[0] === 0) serial = serial.subarray(1);
        out.push({ uid: serial.toString('hex').toUpperCase(), partial: false });
        i = start + total;
        done = true;
        break;
      }
      if (done) continue;
      if (waiting && b.length - start < needed) break;
      // Neither reading is a frame: drop the start byte and look for the next one inside these bytes.
      this.drop(reason);
      i = start + 1;
    }
    this.holdFrom(b, i);
    if (this.held.length > MAX_FRAME) {
      // Cannot happen with the checks above; a guard so no change to them can make the buffer grow unbounded.
      this.noiseBytes += this.held.length - MAX_FRAME;
      this.held = Buffer.from(this.held.subarray(this.held.length - MAX_FRAME));
    }
    return out;
  }
}

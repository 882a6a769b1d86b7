import { decodeWiegand, type CardFormat } from '../../../gateway/core/card-number.js';
import { LineParser } from './lines.js';
import type { FrameRead } from './types.js';

/**
 * `wiegand-hex`: a Wiegand-to-serial converter sending one frame per line. Accepted lines (case-insensitive,
 * surrounding spaces ignored):
 *
 * - the bit string, first bit first: 26 or 34 characters of `0`/`1`;
 * - the frame as hex with its length: `W26:` / `WG26 ` / `26,` … then up to 7 hex digits (26 bits) or
 *   `W34:` … up to 9 hex digits (34 bits), an optional `0x` before the digits;
 * - bare hex of exactly 7 digits (a 26-bit frame) or 9 digits (a 34-bit frame), optional `0x`.
 *
 * The frame's value includes both parity bits, which are checked. A 26-bit frame gives the 3-byte
 * facility/card key (`wg26`); a 34-bit frame gives the low 4 UID bytes, byte-reversed first when the reader is
 * configured with numberFormat `reversed` (readers that send the UID least significant byte first).
 */
export class WiegandHexParser extends LineParser {
  constructor(private readonly numberFormat: CardFormat) {
    super();
  }

  protected parseLine(line: string): FrameRead | undefined {
    const text = line.trim().toUpperCase();
    const bits = toBits(text);
    if (bits === 'bad_format' || bits === 'bad_length') {
      this.drop(bits);
      return undefined;
    }
    const d = decodeWiegand(bits);
    if (!d.ok) {
      this.drop(d.error.code === 'bad_wiegand_parity' ? 'bad_parity' : 'bad_length');
      return undefined;
    }
    let key = d.value.key;
    if (d.value.bits === 34 && this.numberFormat === 'reversed') key = (key.match(/../g) ?? []).reverse().join('');
    return { uid: key, partial: true };
  }
}

function toBits(text: string): string | 'bad_format' | 'bad_length' {
  if (/^[01]{26}$/.test(text) || /^[01]{34}$/.test(text)) return text;
  let len: 26 | 34;
  let hex: string;
  const prefixed = /^(?:WG?)?(26|34)\s*[:=,\s]\s*(?:0X)?([0-9A-F]+)$/.exec(text);
  if (prefixed) {
    len = prefixed[1] === '26' ? 26 : 34;
    hex = prefixed[2]!;
    if (hex.length === len && /^[01]+$/.test(hex)) return hex; // "W26:0101…": bits after a prefix
    if (hex.length > (len === 26 ? 7 : 9)) return 'bad_length';
  } else {
    const bare = /^(?:0X)?([0-9A-F]+)$/.exec(text);
    if (!bare) return 'bad_format';
    hex = bare[1]!;
    if (hex.length === 7) len = 26;
    else if (hex.length === 9) len = 34;
    else return 'bad_length';
  }
  const value = BigInt('0x' + hex);
  if (value >> BigInt(len) !== 0n) return 'bad_length';
  return value.toString(2).padStart(len, '0');
}

import { describe, expect, it } from 'vitest';
import { createFrameParser, type FrameParser, type FrameRead } from '../../drivers/rfid/framing/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Feeds the chunks in order and collects every read. */
function feed(p: FrameParser, ...chunks: Buffer[]): FrameRead[] {
  return chunks.flatMap((c) => p.push(c));
}

/** Feeds one byte at a time: the worst split a serial port can produce. */
function feedBytewise(p: FrameParser, data: Buffer): FrameRead[] {
  const out: FrameRead[] = [];
  for (const b of data) out.push(...p.push(Buffer.from([b])));
  return out;
}

// RDM6300 frames: STX, 10 hex, XOR checksum of the 5 bytes, ETX.
// 06^00^8E^6D^5D = B8; 0F^00^25^A8^B1 = 33.
const EM1 = ascii('\x0206008E6D5DB8\x03');
const EM2 = ascii('\x020F0025A8B133\x03');

describe('em-ascii (RDM6300)', () => {
  it('reads a good frame', () => {
    const p = createFrameParser('em-ascii');
    expect(feed(p, EM1)).toEqual([{ uid: '06008E6D5D', partial: false }]);
  });
  it('reads a frame split at every byte', () => {
    const p = createFrameParser('em-ascii');
    expect(feedBytewise(p, EM1)).toEqual([{ uid: '06008E6D5D', partial: false }]);
  });
  it('reads two frames in one chunk and a repeat split across chunks', () => {
    const p = createFrameParser('em-ascii');
    const all = Buffer.concat([EM1, EM2, EM1]);
    expect(feed(p, all.subarray(0, 20), all.subarray(20, 33), all.subarray(33)).map((r) => r.uid)).toEqual([
      '06008E6D5D',
      '0F0025A8B1',
      '06008E6D5D',
    ]);
  });
  it('skips noise between frames and counts it', () => {
    const p = createFrameParser('em-ascii');
    const reads = feed(p, Buffer.concat([hex('00 FF 41 0D 0A'), EM1, ascii('garbage'), EM2]));
    expect(reads.map((r) => r.uid)).toEqual(['06008E6D5D', '0F0025A8B1']);
    expect(p.noiseBytes).toBe(5 + 7);
    expect(Object.values(p.drops).every((n) => n === 0)).toBe(true);
  });
  it('drops a bad checksum and keeps reading', () => {
    const p = createFrameParser('em-ascii');
    const bad = ascii('\x0206008E6D5DB9\x03');
    expect(feed(p, bad, EM2).map((r) => r.uid)).toEqual(['0F0025A8B1']);
    expect(p.drops.bad_checksum).toBe(1);
  });
  it('drops a frame cut short by the next one without losing the next one', () => {
    const p = createFrameParser('em-ascii');
    const cut = ascii('\x0206008E');
    expect(feed(p, cut, EM2)).toEqual([{ uid: '0F0025A8B1', partial: false }]);
    expect(p.drops.bad_length).toBe(1);
  });
  it('drops a frame without ETX where it belongs', () => {
    const p = createFrameParser('em-ascii');
    expect(feed(p, ascii('\x0206008E6D5DB8\x0d\x0a'), EM1).map((r) => r.uid)).toEqual(['06008E6D5D']);
    expect(p.drops.bad_length).toBe(1);
  });
  it('stays bounded on an endless stream of garbage and start bytes', () => {
    const p = createFrameParser('em-ascii');
    for (let i = 0; i < 1000; i++) p.push(Buffer.from([0x02, 0x41, 0x41, 0x41]));
    // The only thing kept is the last partial frame; a good frame after it still reads.
    expect(feed(p, EM1).map((r) => r.uid)).toEqual(['06008E6D5D']);
    expect(p.drops.bad_length).toBe(1000);
  });
});

// STX LEN TYPE serial BCC ETX; the reference vector, LEN = whole frame.
const BCC_EM = hex('02 0A 02 06 00 8E 6D 5D B0 03');
// Mifare 4-byte serial: LEN 09; BCC = 09^01^56^30^F0^09 = 97.
const BCC_MIFARE = hex('02 09 01 56 30 F0 09 97 03');

describe('stx-bcc', () => {
  it('reads the reference EM frame', () => {
    const p = createFrameParser('stx-bcc');
    expect(feed(p, BCC_EM)).toEqual([{ uid: '06008E6D5D', partial: false }]);
  });
  it('reads a Mifare frame, byte by byte', () => {
    const p = createFrameParser('stx-bcc');
    expect(feedBytewise(p, BCC_MIFARE)).toEqual([{ uid: '5630F009', partial: false }]);
  });
  it('reads a frame whose LEN counts the bytes after STX (the other documented reading)', () => {
    const p = createFrameParser('stx-bcc');
    // LEN 09 = 9 bytes after STX, with 5 serial bytes; BCC = 09^02^06^00^8E^6D^5D = B3.
    expect(feed(p, hex('02 09 02 06 00 8E 6D 5D B3 03'))).toEqual([{ uid: '06008E6D5D', partial: false }]);
  });
  it('handles two frames in one chunk with noise between, and a split', () => {
    const p = createFrameParser('stx-bcc');
    const all = Buffer.concat([BCC_EM, hex('FF 00 13'), BCC_MIFARE, BCC_EM]);
    expect(feed(p, all.subarray(0, 15), all.subarray(15)).map((r) => r.uid)).toEqual(['06008E6D5D', '5630F009', '06008E6D5D']);
    expect(p.noiseBytes).toBe(3);
  });
  it('counts a bad BCC, a bad length and an unknown type, and recovers', () => {
    const p = createFrameParser('stx-bcc');
    const badBcc = hex('02 0A 02 06 00 8E 6D 5D B1 03');
    const badLen = hex('02 30 02 06');
    // type 0x07 with a correct BCC: 0A^07^06^00^8E^6D^5D = B5
    const badType = hex('02 0A 07 06 00 8E 6D 5D B5 03');
    expect(feed(p, badBcc, badLen, badType, BCC_MIFARE).map((r) => r.uid)).toEqual(['5630F009']);
    expect(p.drops.bad_checksum).toBe(1);
    expect(p.drops.bad_length).toBeGreaterThanOrEqual(1);
    expect(p.drops.bad_type).toBe(1);
  });
  it('stays bounded on garbage', () => {
    const p = createFrameParser('stx-bcc');
    for (let i = 0; i < 500; i++) p.push(hex('02 0A 02 FF FF'));
    expect(feed(p, hex('00 00 00 00 00 00 00 00 00 00 00'), BCC_EM).map((r) => r.uid)).toEqual(['06008E6D5D']);
  });
});

describe('ascii-line', () => {
  it('reads decimal 8H10D lines with CR, LF and CRLF as UID suffix keys', () => {
    const p = createFrameParser('ascii-line', '8h10d');
    const reads = feed(p, ascii('0009334109\r1446047753\n'), ascii('0009334109\r'), ascii('\n1446047753\r\n'));
    expect(reads).toEqual([
      { uid: '008E6D5D', partial: true },
      { uid: '5630F009', partial: true },
      { uid: '008E6D5D', partial: true },
      { uid: '5630F009', partial: true },
    ]);
  });
  it('reads reversed and 6H8D decimal lines', () => {
    expect(feed(createFrameParser('ascii-line', 'reversed'), ascii('0166735958\r\n'))).toEqual([{ uid: '5630F009', partial: true }]);
    expect(feed(createFrameParser('ascii-line', '6h8d'), ascii('07302202\r\n'))).toEqual([{ uid: '6F6C3A', partial: true }]);
  });
  it('reads hex lines as complete UIDs, split byte by byte, ignoring STX/ETX wrappers', () => {
    const p = createFrameParser('ascii-line', 'hex');
    expect(feedBytewise(p, ascii('\x025630f009\x03\r\n04CEFED9A12580\n'))).toEqual([
      { uid: '5630F009', partial: false },
      { uid: '04CEFED9A12580', partial: false },
    ]);
  });
  it('drops lines that are not numbers, or too large, and keeps going', () => {
    const p = createFrameParser('ascii-line', '8h10d');
    expect(feed(p, ascii('hello\r\n9999999999\r\n0009334109\r\n')).map((r) => r.uid)).toEqual(['008E6D5D']);
    expect(p.drops.bad_format).toBe(1);
    expect(p.drops.bad_length).toBe(1);
  });
  it('drops an over-long line as overflow without growing, then reads the next line', () => {
    const p = createFrameParser('ascii-line', 'hex');
    for (let i = 0; i < 1000; i++) p.push(ascii('ABCDEF0123456789'));
    expect(p.drops.overflow).toBe(1);
    expect(feed(p, ascii('\r\n5630F009\r\n'))).toEqual([{ uid: '5630F009', partial: false }]);
  });
});

describe('wiegand-hex', () => {
  // 01026F6C3A → facility 111, card 27706 → 0 01101111 0110110000111010 1 = 0x0DED875
  const W26_BITS = '00110111101101100001110101';
  // 5630F009 → 0 0101011000110000 1111000000001001 1 = 0x0AC61E013
  const W34_BITS = '0010101100011000011110000000010011';

  it('reads 26-bit frames as hex, prefixed hex and bit strings', () => {
    const p = createFrameParser('wiegand-hex');
    const reads = feed(p, ascii(`0DED875\r\nW26:DED875\r\n26,0x0ded875\n${W26_BITS}\r\n`));
    expect(reads).toEqual(Array(4).fill({ uid: '6F6C3A', partial: true }));
  });
  it('reads 34-bit frames, byte-reversed for readers set to reversed', () => {
    const reads = feed(createFrameParser('wiegand-hex'), ascii(`0AC61E013\r\nW34:${W34_BITS}\r\n`));
    expect(reads).toEqual([
      { uid: '5630F009', partial: true },
      { uid: '5630F009', partial: true },
    ]);
    expect(feed(createFrameParser('wiegand-hex', 'reversed'), ascii('0AC61E013\n'))).toEqual([{ uid: '09F03056', partial: true }]);
  });
  it('drops frames with bad parity, bad length or bad characters', () => {
    const p = createFrameParser('wiegand-hex');
    const flipped = W26_BITS.slice(0, 3) + (W26_BITS[3] === '1' ? '0' : '1') + W26_BITS.slice(4);
    const reads = feed(p, ascii(`${flipped}\r\nW26:FFFFFFFF\r\n12345\r\nxyz\r\n0DED875\r\n`));
    expect(reads).toEqual([{ uid: '6F6C3A', partial: true }]);
    expect(p.drops.bad_parity).toBe(1);
    expect(p.drops.bad_length).toBe(2);
    expect(p.drops.bad_format).toBe(1);
  });
});

/**
 * A minimal baseline JPEG encoder (YCbCr 4:4:4, standard quantisation tables, one set of the standard Huffman
 * tables for all components) and a 3×5 pixel font, so the demo's simulated cameras can serve real JPEG
 * snapshots with a caption without a native image library.
 */

const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35,
  42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

const LUMA_Q = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80,
  62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98,
  112, 100, 103, 99,
];
const CHROMA_Q = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99,
  99, ...new Array<number>(32).fill(99),
];

// ITU T.81 Annex K.3: luminance DC and AC tables. Every run/size symbol appears in them, so they serve chroma too.
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_VALS = [
  0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81,
  0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18,
  0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
  0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75,
  0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
  0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
  0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5,
  0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
];

interface Code {
  code: number;
  len: number;
}

function huffmanCodes(bits: number[], vals: number[]): Map<number, Code> {
  const out = new Map<number, Code>();
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < bits[len - 1]!; i++) out.set(vals[k++]!, { code: code++, len });
    code <<= 1;
  }
  return out;
}

const DC_CODES = huffmanCodes(DC_BITS, DC_VALS);
const AC_CODES = huffmanCodes(AC_BITS, AC_VALS);

function scaledTable(base: number[], quality: number): number[] {
  const q = Math.min(100, Math.max(1, quality));
  const scale = q < 50 ? 5000 / q : 200 - q * 2;
  return base.map((v) => Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100))));
}

const COS = Array.from({ length: 64 }, (_, i) => {
  const x = i >> 3;
  const u = i & 7;
  return Math.cos(((2 * x + 1) * u * Math.PI) / 16);
});

/** Separable 2-D DCT-II of an 8×8 block (level-shifted samples), in natural order. */
function fdct(block: Float64Array): Float64Array {
  const tmp = new Float64Array(64);
  const out = new Float64Array(64);
  for (let y = 0; y < 8; y++) {
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let x = 0; x < 8; x++) s += block[y * 8 + x]! * COS[x * 8 + u]!;
      tmp[y * 8 + u] = s * (u === 0 ? Math.SQRT1_2 : 1) * 0.5;
    }
  }
  for (let u = 0; u < 8; u++) {
    for (let v = 0; v < 8; v++) {
      let s = 0;
      for (let y = 0; y < 8; y++) s += tmp[y * 8 + u]! * COS[y * 8 + v]!;
      out[v * 8 + u] = s * (v === 0 ? Math.SQRT1_2 : 1) * 0.5;
    }
  }
  return out;
}

class BitWriter {
  private readonly bytes: number[] = [];
  private acc = 0;
  private n = 0;
  write(code: number, len: number): void {
    for (let i = len - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((code >> i) & 1);
      if (++this.n === 8) {
        this.bytes.push(this.acc);
        if (this.acc === 0xff) this.bytes.push(0); // byte stuffing
        this.acc = 0;
        this.n = 0;
      }
    }
  }
  flush(): number[] {
    if (this.n > 0) this.write((1 << (8 - this.n)) - 1, 8 - this.n); // pad with ones
    return this.bytes;
  }
}

function magnitude(v: number): { size: number; bits: number } {
  const a = Math.abs(v);
  let size = 0;
  while (a >> size) size++;
  return { size, bits: v >= 0 ? v : v + (1 << size) - 1 };
}

function encodeBlock(w: BitWriter, coeffs: Float64Array, q: number[], prevDc: number): number {
  const zz = new Int32Array(64);
  for (let i = 0; i < 64; i++) zz[i] = Math.round(coeffs[ZIGZAG[i]!]! / q[ZIGZAG[i]!]!);
  const diff = zz[0]! - prevDc;
  const dc = magnitude(diff);
  const dcCode = DC_CODES.get(dc.size)!;
  w.write(dcCode.code, dcCode.len);
  if (dc.size) w.write(dc.bits, dc.size);
  let run = 0;
  for (let i = 1; i < 64; i++) {
    const v = zz[i]!;
    if (v === 0) {
      run++;
      continue;
    }
    while (run > 15) {
      const zrl = AC_CODES.get(0xf0)!;
      w.write(zrl.code, zrl.len);
      run -= 16;
    }
    const m = magnitude(v);
    const c = AC_CODES.get((run << 4) | m.size)!;
    w.write(c.code, c.len);
    w.write(m.bits, m.size);
    run = 0;
  }
  if (run > 0) {
    const eob = AC_CODES.get(0x00)!;
    w.write(eob.code, eob.len);
  }
  return zz[0]!;
}

/** Encodes RGB pixels (3 bytes per pixel, row by row) as a baseline JPEG. */
export function encodeJpeg(rgb: Uint8Array, width: number, height: number, quality = 80): Buffer {
  const lq = scaledTable(LUMA_Q, quality);
  const cq = scaledTable(CHROMA_Q, quality);
  const w = new BitWriter();
  const prev = [0, 0, 0];
  const blocks = [new Float64Array(64), new Float64Array(64), new Float64Array(64)];
  for (let by = 0; by < height; by += 8) {
    for (let bx = 0; bx < width; bx += 8) {
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < 8; x++) {
          const px = Math.min(bx + x, width - 1);
          const py = Math.min(by + y, height - 1);
          const o = (py * width + px) * 3;
          const r = rgb[o]!;
          const g = rgb[o + 1]!;
          const b = rgb[o + 2]!;
          blocks[0]![y * 8 + x] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
          blocks[1]![y * 8 + x] = -0.168736 * r - 0.331264 * g + 0.5 * b;
          blocks[2]![y * 8 + x] = 0.5 * r - 0.418688 * g - 0.081312 * b;
        }
      }
      for (let c = 0; c < 3; c++) prev[c] = encodeBlock(w, fdct(blocks[c]!), c === 0 ? lq : cq, prev[c]!);
    }
  }
  const scan = w.flush();

  const out: number[] = [];
  const u16 = (v: number): void => {
    out.push((v >> 8) & 0xff, v & 0xff);
  };
  out.push(0xff, 0xd8); // SOI
  out.push(0xff, 0xe0); // APP0 JFIF
  u16(16);
  out.push(0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0);
  u16(1);
  u16(1);
  out.push(0, 0);
  for (const [id, table] of [
    [0, lq],
    [1, cq],
  ] as const) {
    out.push(0xff, 0xdb); // DQT
    u16(67);
    out.push(id);
    for (let i = 0; i < 64; i++) out.push(table[ZIGZAG[i]!]!);
  }
  out.push(0xff, 0xc0); // SOF0
  u16(17);
  out.push(8);
  u16(height);
  u16(width);
  out.push(3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1);
  for (const [cls, bits, vals] of [
    [0x00, DC_BITS, DC_VALS],
    [0x10, AC_BITS, AC_VALS],
  ] as const) {
    out.push(0xff, 0xc4); // DHT
    u16(2 + 1 + 16 + vals.length);
    out.push(cls, ...bits, ...vals);
  }
  out.push(0xff, 0xda); // SOS
  u16(12);
  out.push(3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0);
  return Buffer.concat([Buffer.from(out), Buffer.from(scan), Buffer.from([0xff, 0xd9])]);
}

/** 3×5 glyphs, one 15-bit number each, rows top to bottom, 3 bits per row (MSB = left). */
const FONT: Record<string, number> = {
  '0': 0b111101101101111, '1': 0b010110010010111, '2': 0b111001111100111, '3': 0b111001111001111,
  '4': 0b101101111001001, '5': 0b111100111001111, '6': 0b111100111101111, '7': 0b111001010010010,
  '8': 0b111101111101111, '9': 0b111101111001111, A: 0b010101111101101, B: 0b110101110101110,
  C: 0b011100100100011, D: 0b110101101101110, E: 0b111100110100111, F: 0b111100110100100,
  G: 0b011100101101011, H: 0b101101111101101, I: 0b111010010010111, J: 0b001001001101010,
  K: 0b101101110101101, L: 0b100100100100111, M: 0b101111111101101, N: 0b110101101101101,
  O: 0b010101101101010, P: 0b110101110100100, Q: 0b010101101110011, R: 0b110101110101101,
  S: 0b011100010001110, T: 0b111010010010010, U: 0b101101101101111, V: 0b101101101101010,
  W: 0b101101111111101, X: 0b101101010101101, Y: 0b101101010010010, Z: 0b111001010100111,
  ':': 0b000010000010000, '-': 0b000000111000000, '.': 0b000000000000010, ' ': 0,
};

/** Draws text into an RGB buffer; unknown characters are drawn as blanks. */
export function drawText(
  rgb: Uint8Array,
  width: number,
  text: string,
  x0: number,
  y0: number,
  scale: number,
  color: [number, number, number],
): void {
  const height = rgb.length / 3 / width;
  let cx = x0;
  for (const ch of text.toUpperCase()) {
    const glyph = FONT[ch] ?? 0;
    for (let row = 0; row < 5; row++) {
      for (let col = 0; col < 3; col++) {
        if (!((glyph >> (14 - (row * 3 + col))) & 1)) continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = cx + col * scale + dx;
            const py = y0 + row * scale + dy;
            if (px < 0 || py < 0 || px >= width || py >= height) continue;
            rgb.set(color, (py * width + px) * 3);
          }
        }
      }
    }
    cx += 4 * scale;
  }
}

/** A test card: a diagonal gradient in the camera's own hue, a caption and a timestamp bar. */
export function renderCard(opts: { width: number; height: number; hue: number; caption: string; stamp: string; motion?: boolean }): Buffer {
  const { width, height } = opts;
  const rgb = new Uint8Array(width * height * 3);
  const [r0, g0, b0] = hueToRgb(opts.hue);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x / width + y / height) / 2;
      const o = (y * width + x) * 3;
      rgb[o] = Math.round(r0 * (0.35 + 0.5 * t));
      rgb[o + 1] = Math.round(g0 * (0.35 + 0.5 * t));
      rgb[o + 2] = Math.round(b0 * (0.35 + 0.5 * t));
    }
  }
  const bar = 14 * 2;
  for (let y = height - bar; y < height; y++) rgb.fill(16, y * width * 3, (y + 1) * width * 3);
  drawText(rgb, width, opts.stamp, 8, height - bar + 4, 4, [240, 240, 240]);
  drawText(rgb, width, opts.caption, 8, 8, 4, [255, 255, 255]);
  if (opts.motion) drawText(rgb, width, 'MOTION', 8, 32, 4, [255, 80, 60]);
  return encodeJpeg(rgb, width, height, 75);
}

function hueToRgb(h: number): [number, number, number] {
  const f = (n: number): number => {
    const k = (n + h / 60) % 6;
    return Math.round(255 * (1 - Math.max(0, Math.min(k, 4 - k, 1))));
  };
  return [f(5), f(3), f(1)];
}

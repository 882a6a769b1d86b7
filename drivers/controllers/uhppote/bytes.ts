/**
 * Field codecs of the UHPPOTE/WeiGeng packet: little-endian integers, BCD dates and times, IPv4, MAC.
 * Offsets and widths follow the public description in uhppoted/uhppoted-codegen (bindings/.models/models.json).
 *
 * Dates and times are the controller's own local wall-clock time (it has no time zone); we carry them as strings
 * ("YYYY-MM-DD", "HH:MM:SS", "YYYY-MM-DD HH:MM:SS") and convert to epoch ms only where the school's zone is known.
 */

/** Every request and reply is exactly this long; anything else is not a UHPPOTE packet. */
export const PACKET_SIZE = 64;
/** First byte of every packet. */
export const SOM = 0x17;
/** The "are you sure" word some destructive requests carry (delete all cards, set event index, …). */
export const MAGIC = 0x55aaaa55;

/** Why a packet could not be read; counted by reason and never thrown across the socket handler. */
export class CodecError extends Error {
  constructor(
    readonly code: 'bad_size' | 'bad_start' | 'unknown_function' | 'bad_bcd' | 'bad_value',
    message: string,
  ) {
    super(message);
    this.name = 'CodecError';
  }
}

export const u8 = (b: Buffer, o: number): number => b.readUInt8(o);
export const u16 = (b: Buffer, o: number): number => b.readUInt16LE(o);
export const u32 = (b: Buffer, o: number): number => b.readUInt32LE(o);
/** PINs are 24-bit (0–999999). */
export const u24 = (b: Buffer, o: number): number => b.readUIntLE(o, 3);
export const bool = (b: Buffer, o: number): boolean => b.readUInt8(o) !== 0;

export function putU8(b: Buffer, o: number, v: number): void {
  b.writeUInt8(v & 0xff, o);
}
export function putU16(b: Buffer, o: number, v: number): void {
  b.writeUInt16LE(v, o);
}
export function putU32(b: Buffer, o: number, v: number): void {
  b.writeUInt32LE(v >>> 0, o);
}
export function putU24(b: Buffer, o: number, v: number): void {
  b.writeUIntLE(v, o, 3);
}
export function putBool(b: Buffer, o: number, v: boolean): void {
  b.writeUInt8(v ? 1 : 0, o);
}

/** `n` bytes of BCD as a digit string ("20220823"); a nibble over 9 is an error, not a guess. */
export function bcd(b: Buffer, o: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const v = b[o + i]!;
    const hi = v >> 4;
    const lo = v & 0x0f;
    if (hi > 9 || lo > 9) throw new CodecError('bad_bcd', `byte ${o + i} (0x${v.toString(16)}) is not BCD`);
    s += String(hi) + String(lo);
  }
  return s;
}

export function putBcd(b: Buffer, o: number, digits: string): void {
  if (!/^\d*$/.test(digits) || digits.length % 2 !== 0) throw new CodecError('bad_value', `"${digits}" is not an even run of digits`);
  for (let i = 0; i < digits.length; i += 2) b[o + i / 2] = (Number(digits[i]) << 4) | Number(digits[i + 1]);
}

const isZero = (b: Buffer, o: number, n: number): boolean => b.subarray(o, o + n).every((x) => x === 0);

/** 4 bytes yyyyMMdd → "YYYY-MM-DD". */
export function date(b: Buffer, o: number): string {
  const s = bcd(b, o, 4);
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
}
/** A date field the controller leaves zero when unset. */
export const optionalDate = (b: Buffer, o: number): string | null => (isZero(b, o, 4) ? null : date(b, o));

export function putDate(b: Buffer, o: number, d: string): void {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) throw new CodecError('bad_value', `"${d}" is not YYYY-MM-DD`);
  putBcd(b, o, d.replace(/-/g, ''));
}

/** 7 bytes yyyyMMddHHmmss → "YYYY-MM-DD HH:MM:SS". */
export function datetime(b: Buffer, o: number): string {
  const s = bcd(b, o, 7);
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)} ${s.slice(8, 10)}:${s.slice(10, 12)}:${s.slice(12, 14)}`;
}
export const optionalDatetime = (b: Buffer, o: number): string | null => (isZero(b, o, 7) ? null : datetime(b, o));

export function putDatetime(b: Buffer, o: number, dt: string): void {
  if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(dt)) throw new CodecError('bad_value', `"${dt}" is not YYYY-MM-DD HH:MM:SS`);
  putBcd(b, o, dt.replace(/[-: ]/g, ''));
}

/** 3 bytes yyMMdd (the status packet's short date) → "20YY-MM-DD". */
export function shortDate(b: Buffer, o: number): string {
  const s = bcd(b, o, 3);
  return `20${s.slice(0, 2)}-${s.slice(2, 4)}-${s.slice(4, 6)}`;
}
export function putShortDate(b: Buffer, o: number, d: string): void {
  if (!/^20\d{2}-\d{2}-\d{2}$/.test(d)) throw new CodecError('bad_value', `"${d}" is not a 20YY-MM-DD date`);
  putBcd(b, o, d.slice(2).replace(/-/g, ''));
}

/** 3 bytes HHmmss → "HH:MM:SS". */
export function time(b: Buffer, o: number): string {
  const s = bcd(b, o, 3);
  return `${s.slice(0, 2)}:${s.slice(2, 4)}:${s.slice(4, 6)}`;
}
export function putTime(b: Buffer, o: number, t: string): void {
  if (!/^\d{2}:\d{2}:\d{2}$/.test(t)) throw new CodecError('bad_value', `"${t}" is not HH:MM:SS`);
  putBcd(b, o, t.replace(/:/g, ''));
}

/** 2 bytes HHmm → "HH:MM" (time profile segments). */
export function hhmm(b: Buffer, o: number): string {
  const s = bcd(b, o, 2);
  return `${s.slice(0, 2)}:${s.slice(2, 4)}`;
}
export function putHhmm(b: Buffer, o: number, t: string): void {
  if (!/^\d{2}:\d{2}$/.test(t)) throw new CodecError('bad_value', `"${t}" is not HH:MM`);
  putBcd(b, o, t.replace(':', ''));
}

export const ipv4 = (b: Buffer, o: number): string => [0, 1, 2, 3].map((i) => String(b[o + i])).join('.');

export function putIpv4(b: Buffer, o: number, ip: string): void {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new CodecError('bad_value', `"${ip}" is not an IPv4 address`);
  parts.forEach((p, i) => (b[o + i] = p));
}

export const mac = (b: Buffer, o: number): string => [...b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');

export function putMac(b: Buffer, o: number, m: string): void {
  const parts = m.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new CodecError('bad_value', `"${m}" is not a MAC address`);
  parts.forEach((p, i) => (b[o + i] = Number.parseInt(p, 16)));
}

/** Firmware version: 2 BCD bytes 0x08 0x92 → "v8.92". */
export function version(b: Buffer, o: number): string {
  const s = bcd(b, o, 2);
  return `v${Number(s.slice(0, 2))}.${s.slice(2, 4)}`;
}
export function putVersion(b: Buffer, o: number, v: string): void {
  const m = /^v?(\d{1,2})\.(\d{2})$/.exec(v);
  if (!m) throw new CodecError('bad_value', `"${v}" is not a firmware version like v8.92`);
  putBcd(b, o, m[1]!.padStart(2, '0') + m[2]!);
}

/**
 * The messages the gateway exchanges with a UHPPOTE/WeiGeng controller, and their requests' encoding.
 * Function codes and field offsets: uhppoted/uhppoted-codegen bindings/.models/models.json (facts, not code).
 * Every packet: byte 0 = 0x17, byte 1 = function code, bytes 2–3 zero, bytes 4–7 the controller's serial (LE).
 */
import { bool, CodecError, MAGIC, PACKET_SIZE, putBool, putDate, putHhmm, putU24, putU32, putU8, SOM, u24, u32, u8, date, hhmm } from './bytes.js';
import { BOOL, DATETIME, IPV4, putFields, readFields, U16, U32, U8, type Layout } from './fields.js';

export const FUNCTION = {
  'get-status': 0x20,
  'set-time': 0x30,
  'get-time': 0x32,
  'open-door': 0x40,
  'put-card': 0x50,
  'delete-card': 0x52,
  'delete-all-cards': 0x54,
  'get-cards': 0x58,
  'get-card': 0x5a,
  'get-card-at-index': 0x5c,
  'set-door-control': 0x80,
  'get-door-control': 0x82,
  'set-anti-passback': 0x84,
  'get-anti-passback': 0x86,
  'set-time-profile': 0x88,
  'clear-time-profiles': 0x8a,
  'record-special-events': 0x8e,
  'set-listener': 0x90,
  'get-listener': 0x92,
  'get-controller': 0x94,
  'get-time-profile': 0x98,
  'get-event': 0xb0,
  'set-event-index': 0xb2,
  'get-event-index': 0xb4,
} as const;

export type FunctionName = keyof typeof FUNCTION;
const NAMES = new Map<number, FunctionName>(Object.entries(FUNCTION).map(([k, v]) => [v, k as FunctionName]));
export const functionName = (code: number): FunctionName | undefined => NAMES.get(code);

/** Door control modes (get/set door control). */
export const DOOR_MODE = { normallyOpen: 1, normallyClosed: 2, controlled: 3 } as const;

/** A card as the controller stores it. Door permission: 0 none, 1 any time, 2–254 a time profile id. */
export interface CardRecord {
  card: number;
  from: string;
  to: string;
  doors: [number, number, number, number];
  pin: number;
}

/** One of the controller's 254 time profiles: weekdays, three time segments, an optional linked profile. */
export interface TimeProfile {
  profile: number;
  from: string;
  to: string;
  /** Monday first, as the packet orders them. */
  weekdays: [boolean, boolean, boolean, boolean, boolean, boolean, boolean];
  segments: [{ start: string; end: string }, { start: string; end: string }, { start: string; end: string }];
  linked: number;
}

/** The requests, in function-code order (FUNCTION above). */
export type Request =
  | { type: 'get-status' }
  | { type: 'set-time'; datetime: string }
  | { type: 'get-time' }
  | { type: 'open-door'; door: number }
  | { type: 'put-card'; record: CardRecord }
  | { type: 'delete-card'; card: number }
  | { type: 'delete-all-cards' }
  | { type: 'get-cards' }
  | { type: 'get-card'; card: number }
  | { type: 'get-card-at-index'; index: number }
  | { type: 'set-door-control'; door: number; mode: number; delay: number }
  | { type: 'get-door-control'; door: number }
  | { type: 'set-anti-passback'; mode: number }
  | { type: 'get-anti-passback' }
  | { type: 'set-time-profile'; profile: TimeProfile }
  | { type: 'clear-time-profiles' }
  | { type: 'record-special-events'; enabled: boolean }
  | { type: 'set-listener'; address: string; port: number; interval: number }
  | { type: 'get-listener' }
  | { type: 'get-controller' }
  | { type: 'get-time-profile'; profile: number }
  | { type: 'get-event'; index: number }
  | { type: 'set-event-index'; index: number }
  | { type: 'get-event-index' };

export function header(fn: number, serial: number): Buffer {
  const b = Buffer.alloc(PACKET_SIZE);
  b[0] = SOM;
  b[1] = fn;
  putU32(b, 4, serial);
  return b;
}

export function putCardRecord(b: Buffer, r: CardRecord): void {
  putU32(b, 8, r.card);
  putDate(b, 12, r.from);
  putDate(b, 16, r.to);
  r.doors.forEach((d, i) => putU8(b, 20 + i, d));
  putU24(b, 24, r.pin);
}

export function putTimeProfile(b: Buffer, p: TimeProfile): void {
  putU8(b, 8, p.profile);
  putDate(b, 9, p.from);
  putDate(b, 13, p.to);
  p.weekdays.forEach((d, i) => putBool(b, 17 + i, d));
  p.segments.forEach((s, i) => {
    putHhmm(b, 24 + i * 4, s.start);
    putHhmm(b, 26 + i * 4, s.end);
  });
  putU8(b, 36, p.linked);
}

type Body<T extends Request['type']> = Omit<Extract<Request, { type: T }>, 'type'>;
/** Requests with a body of their own layout (records that span several fields), encoded and decoded by hand. */
type RecordRequest = 'put-card' | 'set-time-profile';

/** Every other request is fixed fields or none: name, offset and codec of each, written by encode, read by decode. */
const REQUEST_FIELDS: { [T in Exclude<Request['type'], RecordRequest>]: Layout<Body<T>> } = {
  'get-status': [],
  'set-time': [['datetime', 8, DATETIME]],
  'get-time': [],
  'open-door': [['door', 8, U8]],
  'delete-card': [['card', 8, U32]],
  'delete-all-cards': [],
  'get-cards': [],
  'get-card': [['card', 8, U32]],
  'get-card-at-index': [['index', 8, U32]],
  'set-door-control': [['door', 8, U8], ['mode', 9, U8], ['delay', 10, U8]],
  'get-door-control': [['door', 8, U8]],
  'set-anti-passback': [['mode', 8, U8]],
  'get-anti-passback': [],
  'clear-time-profiles': [],
  'record-special-events': [['enabled', 8, BOOL]],
  'set-listener': [['address', 8, IPV4], ['port', 12, U16], ['interval', 14, U8]],
  'get-listener': [],
  'get-controller': [],
  'get-time-profile': [['profile', 8, U8]],
  'get-event': [['index', 8, U32]],
  'set-event-index': [['index', 8, U32]],
  'get-event-index': [],
};

/** Where a destructive request carries the magic word; decoding refuses one without it. */
const MAGIC_AT: Partial<Record<FunctionName, number>> = { 'delete-all-cards': 8, 'clear-time-profiles': 8, 'set-event-index': 12 };

export function encodeRequest(serial: number, req: Request): Buffer {
  const b = header(FUNCTION[req.type], serial);
  if (req.type === 'put-card') putCardRecord(b, req.record);
  else if (req.type === 'set-time-profile') putTimeProfile(b, req.profile);
  else putFields(b, REQUEST_FIELDS[req.type], req);
  const magicAt = MAGIC_AT[req.type];
  if (magicAt !== undefined) putU32(b, magicAt, MAGIC);
  return b;
}

/** Checks size, start byte and function; returns the function's name and the serial. */
export function readHeader(b: Buffer): { fn: FunctionName; serial: number } {
  if (b.length !== PACKET_SIZE) throw new CodecError('bad_size', `a packet of ${b.length} bytes; expected ${PACKET_SIZE}`);
  if (b[0] !== SOM) throw new CodecError('bad_start', `start byte 0x${b[0]!.toString(16)}; expected 0x17`);
  const fn = functionName(b[1]!);
  if (!fn) throw new CodecError('unknown_function', `function code 0x${b[1]!.toString(16)} is not one we speak`);
  return { fn, serial: u32(b, 4) };
}

export function readCardRecord(b: Buffer): CardRecord {
  const opt = (o: number): string => (b.subarray(o, o + 4).every((x) => x === 0) ? '' : date(b, o));
  return {
    card: u32(b, 8),
    from: opt(12),
    to: opt(16),
    doors: [u8(b, 20), u8(b, 21), u8(b, 22), u8(b, 23)],
    pin: u24(b, 24),
  };
}

export function readTimeProfile(b: Buffer): TimeProfile {
  const seg = (i: number): { start: string; end: string } => ({ start: hhmm(b, 24 + i * 4), end: hhmm(b, 26 + i * 4) });
  return {
    profile: u8(b, 8),
    from: date(b, 9),
    to: date(b, 13),
    weekdays: [bool(b, 17), bool(b, 18), bool(b, 19), bool(b, 20), bool(b, 21), bool(b, 22), bool(b, 23)],
    segments: [seg(0), seg(1), seg(2)],
    linked: u8(b, 36),
  };
}

/** Reads a request (the fake controller's side, and the golden tests). */
export function decodeRequest(b: Buffer): { serial: number; request: Request } {
  const { fn, serial } = readHeader(b);
  const magicAt = MAGIC_AT[fn];
  if (magicAt !== undefined && u32(b, magicAt) !== MAGIC) throw new CodecError('bad_value', 'destructive request without the magic word');
  if (fn === 'put-card') return { serial, request: { type: fn, record: readCardRecord(b) } };
  if (fn === 'set-time-profile') return { serial, request: { type: fn, profile: readTimeProfile(b) } };
  return { serial, request: readFields<Request>(fn, REQUEST_FIELDS[fn], b) };
}

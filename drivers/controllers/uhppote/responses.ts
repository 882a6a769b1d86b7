/**
 * Replies from a controller, and the event packets it pushes to its listener (function 0x20, the same layout as a
 * get-status reply). Encoding is here too: the protocol-level fake controller in test/ speaks the same bytes.
 */
import { bool, putBool, putDatetime, putShortDate, putTime, putU32, putU8, date, optionalDatetime, shortDate, time, u32, u8 } from './bytes.js';
import { DATE, IPV4, MAC, putFields, readFields, U16, U32, U8, VERSION, type AnyLayout, type Layout } from './fields.js';
import { FUNCTION, header, putCardRecord, putTimeProfile, readCardRecord, readHeader, readTimeProfile, type CardRecord, type FunctionName, type TimeProfile } from './messages.js';

/** Event types in the controller's log. */
export const EVENT_TYPE = { none: 0, card: 1, door: 2, alarm: 3, system: 4, overwritten: 255 } as const;

/** Reason codes the gateway acts on (the full list is in docs/controllers.md). */
export const REASON = {
  cardOk: 1,
  deniedPcControl: 5,
  deniedNoAccess: 6,
  deniedPassword: 7,
  deniedAntiPassback: 8,
  deniedMoreCards: 9,
  deniedFirstCard: 10,
  deniedNormallyClosed: 11,
  deniedInterlock: 12,
  deniedLimitedTimes: 13,
  deniedTimezone: 15,
  denied: 18,
  pushButton: 20,
  doorOpen: 23,
  doorClosed: 24,
  powerOn: 28,
  reset: 29,
  openTooLong: 37,
  forcedOpen: 38,
  remoteOpen: 44,
} as const;

export interface ControllerEvent {
  index: number;
  type: number;
  granted: boolean;
  door: number;
  /** 1 in, 2 out. */
  direction: number;
  card: number;
  /** Controller-local "YYYY-MM-DD HH:MM:SS"; null when the controller left it empty. */
  timestamp: string | null;
  reason: number;
}

export interface ControllerStatus {
  /** The last event in the log (index 0: the log is empty and `event` is null). */
  lastIndex: number;
  event: ControllerEvent | null;
  doorsOpen: [boolean, boolean, boolean, boolean];
  buttons: [boolean, boolean, boolean, boolean];
  systemError: number;
  /** Controller-local "YYYY-MM-DD HH:MM:SS". */
  systemTime: string;
  sequence: number;
  specialInfo: number;
  relays: number;
  inputs: number;
}

export type Response =
  | { type: 'get-controller'; address: string; netmask: string; gateway: string; mac: string; version: string; released: string }
  | { type: 'get-time' | 'set-time'; datetime: string }
  | { type: 'get-status'; status: ControllerStatus }
  | { type: 'get-listener'; address: string; port: number; interval: number }
  | { type: 'get-door-control' | 'set-door-control'; door: number; mode: number; delay: number }
  | { type: 'get-cards'; count: number }
  /** `record.card` 0: no such card; 0xFFFFFFFF: a deleted slot (get card at index). */
  | { type: 'get-card' | 'get-card-at-index'; record: CardRecord }
  | { type: 'get-event'; event: ControllerEvent }
  | { type: 'get-event-index'; index: number }
  | { type: 'get-time-profile'; profile: TimeProfile }
  | { type: 'get-anti-passback'; mode: number }
  | {
      type: 'set-listener' | 'open-door' | 'put-card' | 'delete-card' | 'delete-all-cards' | 'set-event-index' | 'record-special-events'
        | 'set-time-profile' | 'clear-time-profiles' | 'set-anti-passback';
      ok: boolean;
    };

/** Card number 0 means "not found" in card replies; a deleted slot reads back as all ones. */
export const NO_CARD = 0;
export const DELETED_CARD = 0xffffffff;

function readEvent(b: Buffer): ControllerEvent {
  return {
    index: u32(b, 8),
    type: u8(b, 12),
    granted: bool(b, 13),
    door: u8(b, 14),
    direction: u8(b, 15),
    card: u32(b, 16),
    timestamp: optionalDatetime(b, 20),
    reason: u8(b, 27),
  };
}

function putEvent(b: Buffer, e: ControllerEvent): void {
  putU32(b, 8, e.index);
  putU8(b, 12, e.type);
  putBool(b, 13, e.granted);
  putU8(b, 14, e.door);
  putU8(b, 15, e.direction);
  putU32(b, 16, e.card);
  if (e.timestamp) putDatetime(b, 20, e.timestamp);
  putU8(b, 27, e.reason);
}

export function readStatus(b: Buffer): ControllerStatus {
  const lastIndex = u32(b, 8);
  return {
    lastIndex,
    event: lastIndex === 0 ? null : readEvent(b),
    doorsOpen: [bool(b, 28), bool(b, 29), bool(b, 30), bool(b, 31)],
    buttons: [bool(b, 32), bool(b, 33), bool(b, 34), bool(b, 35)],
    systemError: u8(b, 36),
    systemTime: `${shortDate(b, 51)} ${time(b, 37)}`,
    sequence: u32(b, 40),
    specialInfo: u8(b, 48),
    relays: u8(b, 49),
    inputs: u8(b, 50),
  };
}

function putStatus(b: Buffer, s: ControllerStatus): void {
  if (s.event) putEvent(b, s.event);
  putU32(b, 8, s.lastIndex);
  s.doorsOpen.forEach((v, i) => putBool(b, 28 + i, v));
  s.buttons.forEach((v, i) => putBool(b, 32 + i, v));
  putU8(b, 36, s.systemError);
  const [d, t] = s.systemTime.split(' ') as [string, string];
  putTime(b, 37, t);
  putU32(b, 40, s.sequence);
  putU8(b, 48, s.specialInfo);
  putU8(b, 49, s.relays);
  putU8(b, 50, s.inputs);
  putShortDate(b, 51, d);
}

/** The reply whose `type` may be T (some types share one layout, e.g. get- and set-door-control). */
type ReplyOf<T extends Response['type']> = Response extends infer R ? (R extends { type: infer U } ? (T extends U ? R : never) : never) : never;
type Body<T extends Response['type']> = Omit<ReplyOf<T>, 'type'>;

/** Replies that are only fixed fields: name, offset and codec of each, read by decode and written by encode. */
const FIXED: { [T in 'get-controller' | 'get-listener' | 'get-door-control' | 'get-cards' | 'get-event-index' | 'get-anti-passback']: Layout<Body<T>> } = {
  'get-controller': [['address', 8, IPV4], ['netmask', 12, IPV4], ['gateway', 16, IPV4], ['mac', 20, MAC], ['version', 26, VERSION], ['released', 28, DATE]],
  'get-listener': [['address', 8, IPV4], ['port', 12, U16], ['interval', 14, U8]],
  'get-door-control': [['door', 8, U8], ['mode', 9, U8], ['delay', 10, U8]],
  'get-cards': [['count', 8, U32]],
  'get-event-index': [['index', 8, U32]],
  'get-anti-passback': [['mode', 8, U8]],
};
type FixedType = keyof typeof FIXED;
/** set-door-control answers with get-door-control's layout. */
const fixedLayout = (fn: FixedType | 'set-door-control'): AnyLayout =>
  (FIXED as unknown as Record<FixedType, AnyLayout>)[fn === 'set-door-control' ? 'get-door-control' : fn];

const isFixed = (fn: FunctionName): fn is FixedType | 'set-door-control' => fn === 'set-door-control' || Object.hasOwn(FIXED, fn);
const isFixedReply = (r: Response): r is ReplyOf<FixedType | 'set-door-control'> => isFixed(r.type);

/** Reads a reply or a pushed event. Throws CodecError on anything malformed (the socket handler counts it). */
export function decodeResponse(b: Buffer): { serial: number; response: Response } {
  const { fn, serial } = readHeader(b);
  return { serial, response: readBody(fn, b) };
}

function readBody(fn: FunctionName, b: Buffer): Response {
  if (isFixed(fn)) return readFields<Response>(fn, fixedLayout(fn), b);
  switch (fn) {
    case 'get-time':
    case 'set-time':
      return { type: fn, datetime: `${date(b, 8)} ${time(b, 12)}` };
    case 'get-status':
      return { type: fn, status: readStatus(b) };
    case 'get-card':
    case 'get-card-at-index':
      return { type: fn, record: readCardRecord(b) };
    case 'get-event':
      return { type: fn, event: readEvent(b) };
    case 'get-time-profile':
      return { type: fn, profile: readTimeProfile(b) };
    default:
      return { type: fn, ok: bool(b, 8) };
  }
}

export function encodeResponse(serial: number, r: Response): Buffer {
  const b = header(FUNCTION[r.type], serial);
  if (isFixedReply(r)) {
    putFields(b, fixedLayout(r.type), r);
    return b;
  }
  switch (r.type) {
    case 'get-time':
    case 'set-time':
      putDatetime(b, 8, r.datetime);
      break;
    case 'get-status':
      putStatus(b, r.status);
      break;
    case 'get-card':
    case 'get-card-at-index':
      if (r.record.card === NO_CARD || r.record.card === DELETED_CARD) putU32(b, 8, r.record.card);
      else putCardRecord(b, r.record);
      break;
    case 'get-event':
      putEvent(b, r.event);
      break;
    case 'get-time-profile':
      if (r.profile.profile !== 0) putTimeProfile(b, r.profile);
      break;
    default:
      putBool(b, 8, r.ok);
  }
  return b;
}

/** A pushed event is a status packet; this builds one (the fake controller pushes these). */
export const encodeEventPacket = (serial: number, status: ControllerStatus): Buffer => encodeResponse(serial, { type: 'get-status', status });

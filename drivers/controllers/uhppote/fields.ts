/**
 * Fixed fields of a packet body described once, as (name, offset, codec), so reading and writing a message walk the
 * same description and cannot disagree about an offset (requests in messages.ts, replies in responses.ts).
 */
import {
  bool, date, datetime, ipv4, mac, putBool, putDate, putDatetime, putIpv4, putMac, putU16, putU32, putU8, putVersion,
  u16, u32, u8, version,
} from './bytes.js';

/** How one field is read and written. */
export interface FieldCodec<V> {
  read(b: Buffer, at: number): V;
  put(b: Buffer, at: number, v: V): void;
}
export const IPV4: FieldCodec<string> = { read: ipv4, put: putIpv4 };
export const MAC: FieldCodec<string> = { read: mac, put: putMac };
export const VERSION: FieldCodec<string> = { read: version, put: putVersion };
export const DATE: FieldCodec<string> = { read: date, put: putDate };
export const DATETIME: FieldCodec<string> = { read: datetime, put: putDatetime };
export const BOOL: FieldCodec<boolean> = { read: bool, put: putBool };
export const U8: FieldCodec<number> = { read: u8, put: putU8 };
export const U16: FieldCodec<number> = { read: u16, put: putU16 };
export const U32: FieldCodec<number> = { read: u32, put: putU32 };

/** The fields of a message body B (without its `type`): each name with its offset and a codec of its type. */
export type Layout<B> = readonly { [K in keyof B]: readonly [K, number, FieldCodec<B[K]>] }[keyof B][];
/** One layout as the generic code below walks it. */
export type AnyLayout = readonly (readonly [string, number, FieldCodec<unknown>])[];

/** Reads a message of type `type` that is only fixed fields; the caller's layout table is what makes it an M. */
export function readFields<M>(type: string, layout: AnyLayout, b: Buffer): M {
  const m: Record<string, unknown> = { type };
  for (const [k, at, codec] of layout) m[k] = codec.read(b, at);
  return m as M;
}

export function putFields(b: Buffer, layout: AnyLayout, message: object): void {
  const values = message as Record<string, unknown>;
  for (const [k, at, codec] of layout) codec.put(b, at, values[k]);
}

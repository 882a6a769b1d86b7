/**
 * Incremental frame parsers for serial card readers. A parser is fed whatever the port delivers (frames split
 * across reads, several in one read, line noise between them) and returns the card reads it completed.
 * Bad frames are counted by reason and dropped; a parser never throws and never holds more than a bounded
 * number of bytes, whatever arrives.
 */
export type DropReason =
  /** Checksum or BCC does not match the data. */
  | 'bad_checksum'
  /** A frame cut short (next start byte or end byte too early) or a length byte we cannot use. */
  | 'bad_length'
  /** Characters that are not what the profile carries (non-hex digits, an unreadable number). */
  | 'bad_format'
  /** Wiegand parity bits do not match. */
  | 'bad_parity'
  /** A frame type byte we do not know. */
  | 'bad_type'
  /** A line longer than any card number: discarded up to the next line end. */
  | 'overflow';

export const DROP_REASONS: readonly DropReason[] = ['bad_checksum', 'bad_length', 'bad_format', 'bad_parity', 'bad_type', 'overflow'];

export interface FrameRead {
  /** Upper-case hex: the whole UID, or, when `partial`, the low UID bytes a printed number stands for. */
  uid: string;
  /**
   * True when the reader gave a printed number (8H10D, 6H8D, Wiegand, …) rather than the UID: `uid` is then a
   * suffix of the card's UID (see gateway/core/card-number.ts, `keyMatches`) and may match more than one card.
   */
  partial: boolean;
}

export interface FrameParser {
  /** Feeds bytes; returns the reads completed by them, in order. */
  push(chunk: Buffer): FrameRead[];
  /** Dropped frames by reason since creation. */
  readonly drops: Readonly<Record<DropReason, number>>;
  /** Bytes skipped outside any frame (line noise, bytes before a start byte). */
  readonly noiseBytes: number;
  /** Forgets a partial frame (the port was reopened: what was half-read will never be completed). */
  reset(): void;
}

export abstract class BaseParser implements FrameParser {
  readonly drops: Record<DropReason, number> = {
    bad_checksum: 0,
    bad_length: 0,
    bad_format: 0,
    bad_parity: 0,
    bad_type: 0,
    overflow: 0,
  };
  noiseBytes = 0;

  abstract push(chunk: Buffer): FrameRead[];
  abstract reset(): void;

  protected drop(reason: DropReason): void {
    this.drops[reason]++;
  }
}

/**
 * A parser that keeps the start of a frame not complete yet until the next chunk: a serial port or socket splits
 * frames anywhere. Each parser bounds what it keeps to one frame's worth.
 */
export abstract class HeldBytesParser extends BaseParser {
  protected held: Buffer = Buffer.alloc(0);

  /** The kept bytes followed by the new chunk. */
  protected joinHeld(chunk: Buffer): Buffer {
    return this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
  }

  /** Keeps `b` from `from` on for the next chunk (a copy: the chunk's memory is not ours to keep). */
  protected holdFrom(b: Buffer, from: number): void {
    this.held = from < b.length ? Buffer.from(b.subarray(from)) : Buffer.alloc(0);
  }

  reset(): void {
    this.held = Buffer.alloc(0);
  }
}

export const STX = 0x02;
export const ETX = 0x03;

/**
 * Where the next frame may start: the index of the next STX at or after `from`, or `buf.length` when there is
 * none. `skipped` is how many bytes before it were noise.
 */
export function nextStx(buf: Buffer, from: number): { at: number; skipped: number } {
  const at = buf.indexOf(STX, from);
  return at < 0 ? { at: buf.length, skipped: buf.length - from } : { at, skipped: at - from };
}

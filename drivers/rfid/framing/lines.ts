import { BaseParser, type FrameRead } from './types.js';

/** Longer than any card number with a prefix; a line past this is garbage, not a card. */
export const MAX_LINE = 48;

/**
 * Splits bytes into lines ended by CR, LF or CRLF (an empty line between CR and LF is ignored), for readers that
 * send text. Control characters inside a line (STX/ETX wrappers some readers add, NULs) are removed and counted as
 * noise. A line longer than MAX_LINE is dropped as `overflow` and everything up to the next line end discarded,
 * so the buffer stays bounded on a stream of garbage.
 */
export abstract class LineParser extends BaseParser {
  private line = '';
  private discarding = false;

  push(chunk: Buffer): FrameRead[] {
    const out: FrameRead[] = [];
    for (const byte of chunk) {
      if (byte === 0x0d || byte === 0x0a) {
        if (this.discarding) this.discarding = false;
        else if (this.line.length > 0) {
          const read = this.parseLine(this.line);
          if (read) out.push(read);
        }
        this.line = '';
        continue;
      }
      if (this.discarding) {
        this.noiseBytes++;
        continue;
      }
      if (byte < 0x20 || byte === 0x7f) {
        this.noiseBytes++;
        continue;
      }
      if (this.line.length >= MAX_LINE) {
        this.drop('overflow');
        this.noiseBytes += this.line.length + 1;
        this.line = '';
        this.discarding = true;
        continue;
      }
      this.line += String.fromCharCode(byte);
    }
    return out;
  }

  reset(): void {
    this.line = '';
    this.discarding = false;
  }

  /** A complete, non-empty line: a read, or undefined after counting why it was dropped. */
  protected abstract parseLine(line: string): FrameRead | undefined;
}

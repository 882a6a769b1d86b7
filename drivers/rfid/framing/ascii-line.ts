import { parseCardNumber, type CardFormat } from '../../../gateway/core/card-number.js';
import { LineParser } from './lines.js';
import type { FrameRead } from './types.js';

/**
 * `ascii-line`: a card number per line, as keyboard-wedge readers type it and many serial readers send it.
 * The reader's `numberFormat` says how to read the digits: `hex` gives the UID; a decimal form (8h10d,
 * reversed, 6h8d, wg26) gives the UID suffix it was printed from (a partial read).
 */
export class AsciiLineParser extends LineParser {
  constructor(private readonly numberFormat: CardFormat) {
    super();
  }

  protected parseLine(line: string): FrameRead | undefined {
    const text = line.trim();
    if (!text) {
      this.noiseBytes += line.length;
      return undefined;
    }
    const r = parseCardNumber(text, this.numberFormat);
    if (!r.ok) {
      this.drop(r.error.code === 'out_of_range' || r.error.code === 'bad_uid_length' ? 'bad_length' : 'bad_format');
      return undefined;
    }
    return { uid: r.value.key, partial: !r.value.exact };
  }
}

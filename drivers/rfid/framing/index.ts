import type { CardFormat } from '../../../gateway/core/card-number.js';
import { AsciiLineParser } from './ascii-line.js';
import { EmAsciiParser } from './em-ascii.js';
import { StxBccParser } from './stx-bcc.js';
import type { FrameParser } from './types.js';
import { WiegandHexParser } from './wiegand-hex.js';

export type SerialProfile = 'ascii-line' | 'em-ascii' | 'stx-bcc' | 'wiegand-hex';
export type { DropReason, FrameParser, FrameRead } from './types.js';
export { DROP_REASONS } from './types.js';

/** The parser for a serial reader's framing profile. */
export function createFrameParser(profile: SerialProfile, numberFormat: CardFormat = 'hex'): FrameParser {
  switch (profile) {
    case 'ascii-line':
      return new AsciiLineParser(numberFormat);
    case 'em-ascii':
      return new EmAsciiParser();
    case 'stx-bcc':
      return new StxBccParser();
    case 'wiegand-hex':
      return new WiegandHexParser(numberFormat);
  }
}

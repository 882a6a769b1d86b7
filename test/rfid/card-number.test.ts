import { describe, expect, it } from 'vitest';
import {
  cardForms,
  decodeWiegand,
  encodeWiegand26,
  encodeWiegand34,
  formatCardNumber,
  keyMatches,
  matchKey,
  normalizeUid,
  parseCardNumber,
  wiegand26FromUid,
  type CardFormat,
} from '../../gateway/core/card-number.js';

const value = <T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
};

describe('printed forms from the UID (vectors from the issue, recomputed)', () => {
  it('EM UID 06008E6D5D prints its low 4 bytes as 0009334109', () => {
    // 0x008E6D5D = 9334109
    expect(value(formatCardNumber('06008E6D5D', '8h10d'))).toBe('0009334109');
  });
  it('Mifare 5630F009: 8H10D 1446047753, reversed 0166735958', () => {
    expect(value(formatCardNumber('5630F009', '8h10d'))).toBe('1446047753');
    expect(value(formatCardNumber('5630F009', 'reversed'))).toBe('0166735958'); // 0x09F03056
  });
  it('01026F6C3A: 6H8D 07302202, Wiegand-26 111,27706', () => {
    expect(value(formatCardNumber('01026F6C3A', '6h8d'))).toBe('07302202'); // 0x6F6C3A
    expect(value(formatCardNumber('01026F6C3A', 'wg26'))).toBe('111,27706'); // 0x6F, 0x6C3A
  });
  it('a 7-byte UID uses its low 4 bytes for the decimal forms', () => {
    const forms = value(cardForms('04CEFED9A12580'));
    expect(forms).toEqual({
      hex: '04CEFED9A12580',
      '8h10d': String(0xd9a12580).padStart(10, '0'),
      reversed: String(0x8025a1d9).padStart(10, '0'),
      '6h8d': String(0xa12580).padStart(8, '0'),
      wg26: `${String(0xa1).padStart(3, '0')},${String(0x2580).padStart(5, '0')}`,
    });
  });
  it('normalizes separators and case, refuses wrong lengths without throwing', () => {
    expect(value(normalizeUid('56:30:f0:09'))).toBe('5630F009');
    expect(value(normalizeUid(' 0x06 00 8e 6d 5d '))).toBe('06008E6D5D');
    const short = normalizeUid('5630F0');
    expect(short.ok).toBe(false);
    if (!short.ok) expect(short.error.code).toBe('bad_uid_length');
    const junk = formatCardNumber('ZZZZZZZZ', '8h10d');
    expect(junk.ok ? null : junk.error.code).toBe('bad_characters');
  });
});

describe('reading printed numbers back as lookup keys', () => {
  it('round-trips every form to the key matchKey gives the UID', () => {
    const formats: CardFormat[] = ['hex', '8h10d', 'reversed', '6h8d', 'wg26'];
    for (const uid of ['5630F009', '06008E6D5D', '01026F6C3A', '04CEFED9A12580', '00000001']) {
      for (const f of formats) {
        const printed = value(formatCardNumber(uid, f));
        const key = value(parseCardNumber(printed, f));
        expect(key.key).toBe(value(matchKey(uid, f)));
        expect(keyMatches(uid, key)).toBe(true);
        expect(key.printed).toBe(printed);
        expect(key.exact).toBe(f === 'hex');
      }
    }
  });
  it('a decimal key matches every UID with the same low bytes (ambiguous), hex only the exact UID', () => {
    const key = value(parseCardNumber('0009334109', '8h10d'));
    expect(key.key).toBe('008E6D5D');
    expect(keyMatches('06008E6D5D', key)).toBe(true);
    expect(keyMatches('07008E6D5D', key)).toBe(true);
    expect(keyMatches('06008E6D5E', key)).toBe(false);
    const hex = value(parseCardNumber('06008E6D5D', 'hex'));
    expect(keyMatches('07008E6D5D', hex)).toBe(false);
  });
  it('repairs Excel damage it can undo and says what it did', () => {
    const dropped = value(parseCardNumber('9334109', '8h10d'));
    expect(dropped.printed).toBe('0009334109');
    expect(dropped.repairs).toContain('leading_zeros_restored');
    const apostrophe = value(parseCardNumber("'0166735958", 'reversed'));
    expect(apostrophe.key).toBe('5630F009');
    expect(apostrophe.repairs).toContain('apostrophe_prefix');
    const spaced = value(parseCardNumber(' 1446 0477 53 ', '8h10d'));
    expect(spaced.key).toBe('5630F009');
    expect(spaced.repairs).toEqual(expect.arrayContaining(['trimmed', 'spaces_removed']));
    expect(value(parseCardNumber('="07302202"', '6h8d')).key).toBe('6F6C3A');
    expect(value(parseCardNumber('1446047753.0', '8h10d')).key).toBe('5630F009');
    expect(value(parseCardNumber('1,446,047,753', '8h10d')).key).toBe('5630F009');
    expect(value(parseCardNumber('１４４６０４７７５３', '8h10d')).key).toBe('5630F009');
    // Full precision survives scientific notation: accepted.
    expect(value(parseCardNumber('1.446047753E+09', '8h10d')).key).toBe('5630F009');
    // A hex UID of digits only that lost one leading zero.
    expect(value(parseCardNumber('6008E6D5D', 'hex')).key).toBe('06008E6D5D');
  });
  it('refuses rounded scientific notation as ambiguous with a reason', () => {
    const r = parseCardNumber('1.44605E+09', '8h10d');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('ambiguous_scientific');
      expect(r.error.message).toMatch(/rounded/);
    }
    const hex = parseCardNumber('5.6301E+07', 'hex');
    expect(hex.ok ? null : hex.error.code).toBe('ambiguous_scientific');
  });
  it('rejects out-of-range and malformed numbers with codes', () => {
    const code = (text: string, f: CardFormat): string | null => {
      const r = parseCardNumber(text, f);
      return r.ok ? null : r.error.code;
    };
    expect(code('4294967296', '8h10d')).toBe('out_of_range');
    expect(code('16777216', '6h8d')).toBe('out_of_range');
    expect(code('256,00001', 'wg26')).toBe('out_of_range');
    expect(code('111,65536', 'wg26')).toBe('out_of_range');
    expect(code('12AB', '8h10d')).toBe('bad_characters');
    expect(code('', 'hex')).toBe('empty');
    expect(code('   ', '8h10d')).toBe('empty');
    expect(code('123', 'hex')).toBe('ambiguous_leading_zeros');
    expect(code('1234', 'wg26')).toBe('ambiguous_leading_zeros');
    expect(code('0009334109', 'bogus' as CardFormat)).toBe('unknown_format');
  });
  it('reads Wiegand-26 with other separators and as 8 digits', () => {
    expect(value(parseCardNumber('111 27706', 'wg26')).key).toBe('6F6C3A');
    expect(value(parseCardNumber('111，27706', 'wg26')).key).toBe('6F6C3A');
    expect(value(parseCardNumber('11127706', 'wg26')).key).toBe('6F6C3A');
    expect(value(parseCardNumber('7,42', 'wg26')).printed).toBe('007,00042');
  });
});

describe('Wiegand frames', () => {
  it('encodes 26 bits with both parities and decodes them back', () => {
    const bits = value(wiegand26FromUid('01026F6C3A'));
    expect(bits).toHaveLength(26);
    // data = 01101111 0110110000111010; first 12 data bits 011011110110 have 8 ones → even parity 0;
    // last 12 data bits 110000111010 have 6 ones → odd parity 1.
    expect(bits).toBe('0' + '01101111' + '0110110000111010' + '1');
    expect(value(decodeWiegand(bits))).toEqual({ bits: 26, key: '6F6C3A', format: 'wg26', facility: 111, card: 27706 });
    expect(value(encodeWiegand26(111, 27706))).toBe(bits);
  });
  it('encodes 34 bits from the low 4 bytes and rejects a flipped bit', () => {
    const bits = value(encodeWiegand34('5630F009'));
    // 0x5630 = 0101011000110000 (6 ones → even parity 0); 0xF009 = 1111000000001001 (6 ones → odd parity 1)
    expect(bits).toBe('0' + '0101011000110000' + '1111000000001001' + '1');
    expect(value(decodeWiegand(bits)).key).toBe('5630F009');
    const flipped = bits.slice(0, 5) + (bits[5] === '1' ? '0' : '1') + bits.slice(6);
    const r = decodeWiegand(flipped);
    expect(r.ok ? null : r.error.code).toBe('bad_wiegand_parity');
    const len = decodeWiegand('0101');
    expect(len.ok ? null : len.error.code).toBe('bad_wiegand_length');
  });
});

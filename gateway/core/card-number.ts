/**
 * Card numbers: the raw UID is the truth; every printed form is derived from it.
 *
 * A UID is upper-case hex without separators: 4 bytes (Mifare single size), 5 (EM4100), 7 (Mifare double size)
 * or 10 (triple size). The printed forms:
 *
 * | form       | made from                                    | width          |
 * |------------|----------------------------------------------|----------------|
 * | `hex`      | the UID itself                               | —              |
 * | `8h10d`    | the low (last) 4 bytes, unsigned 32-bit      | 10 digits      |
 * | `reversed` | those same low 4 bytes in reverse order      | 10 digits      |
 * | `6h8d`     | the low 3 bytes                              | 8 digits       |
 * | `wg26`     | byte 3 from the end (facility), low 2 bytes  | `FFF,CCCCC`    |
 *
 * For a 4-byte UID `reversed` is the whole UID byte-reversed (the default on many Mifare readers). For 5- and
 * 7-byte UIDs we take the same low 4 bytes that `8h10d` uses and reverse them, so every decimal form is a
 * function of a UID *suffix*. That is what makes a printed number usable as a lookup key: parsing it gives back
 * the hex suffix (`key`) it was made from, and `matchKey(uid, format)` gives the same suffix for a stored UID.
 * A suffix may match several UIDs (7-byte cards, or two EM cards differing only in the customer byte): callers
 * must treat a decimal form as ambiguous when more than one card matches.
 *
 * Everything here is pure and total: bad input comes back as `{ ok: false, error: { code, message } }`,
 * never as an exception, because drivers call it on bytes from the wire and the roster importer on Excel exports.
 */

import { CARD_FORMATS, type CardFormat } from '../../config/readers.js';

// The names live in config/ (the readers' `numberFormat` validates against them; config imports nothing of the gateway).
export { CARD_FORMATS, type CardFormat };

/** Byte lengths of a UID we accept. */
export const UID_BYTE_LENGTHS: readonly number[] = [4, 5, 7, 10];

export type CardNumberErrorCode =
  | 'empty'
  | 'bad_characters'
  | 'bad_uid_length'
  | 'out_of_range'
  | 'ambiguous_scientific'
  | 'ambiguous_leading_zeros'
  | 'bad_wiegand_length'
  | 'bad_wiegand_parity'
  | 'unknown_format';

export interface CardNumberError {
  code: CardNumberErrorCode;
  message: string;
}

export type CardResult<T> = { ok: true; value: T } | { ok: false; error: CardNumberError };

/** What was done to the text to read it; the roster importer reports these so a school can fix its sheet. */
export type CardRepair =
  | 'trimmed'
  | 'apostrophe_prefix'
  | 'excel_formula'
  | 'spaces_removed'
  | 'separators_removed'
  | 'fullwidth_characters'
  | 'leading_zeros_restored'
  | 'decimal_point_removed'
  | 'scientific_notation_expanded';

/** A printed card number read back: the UID suffix it stands for. */
export interface CardKey {
  format: CardFormat;
  /** Upper-case hex: the whole UID for `hex`, else the low 4 (`8h10d`, `reversed`) or 3 (`6h8d`, `wg26`) bytes. */
  key: string;
  /** True only for `hex`: the key is a complete UID, not a suffix that may match several cards. */
  exact: boolean;
  /** The number as the format prints it (zero-padded), for messages and reports. */
  printed: string;
  repairs: CardRepair[];
}

const ok = <T>(value: T): CardResult<T> => ({ ok: true, value });
const fail = <T = never>(code: CardNumberErrorCode, message: string): CardResult<T> => ({ ok: false, error: { code, message } });

const HEX_RE = /^[0-9A-F]+$/;

export function isCardFormat(s: string): s is CardFormat {
  return (CARD_FORMATS as readonly string[]).includes(s);
}

/** True for a canonical UID: upper-case hex, an accepted byte length. */
export function isCanonicalUid(s: string): boolean {
  return HEX_RE.test(s) && s.length % 2 === 0 && UID_BYTE_LENGTHS.includes(s.length / 2);
}

/**
 * Reads a UID as people and readers write it, upper or lower case, with spaces, colons or dashes between bytes, an optional
 * `0x`. Does not guess missing digits: an odd number of hex digits is an error here (see parseCardNumber for that).
 */
export function normalizeUid(text: string): CardResult<string> {
  let s = text.normalize('NFKC').trim();
  if (s.startsWith('0x') || s.startsWith('0X')) s = s.slice(2);
  s = s.replace(/[\s:-]/g, '').toUpperCase();
  if (!s) return fail('empty', 'no UID given');
  if (!HEX_RE.test(s)) return fail('bad_characters', `UID "${text}" has characters other than hex digits`);
  if (s.length % 2 !== 0 || !UID_BYTE_LENGTHS.includes(s.length / 2)) {
    return fail('bad_uid_length', `UID "${text}" is ${s.length} hex digits; expected ${UID_BYTE_LENGTHS.map((n) => n * 2).join(', ')}`);
  }
  return ok(s);
}

const hexToInt = (hex: string): number => Number.parseInt(hex, 16);
const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const hexPad = (n: number, bytes: number): string => n.toString(16).toUpperCase().padStart(bytes * 2, '0');
const reverseBytes = (hex: string): string => (hex.match(/../g) ?? []).reverse().join('');

/** Hex digits of the UID suffix that a form is made from. */
function suffixBytes(format: CardFormat): number {
  switch (format) {
    case '8h10d':
    case 'reversed':
      return 4;
    case '6h8d':
    case 'wg26':
      return 3;
    case 'hex':
      return 0;
  }
}

/** The key a stored UID has for a format: compare it with `parseCardNumber(text, format).value.key`. */
export function matchKey(uid: string, format: CardFormat): CardResult<string> {
  const u = normalizeUid(uid);
  if (!u.ok) return u;
  if (!isCardFormat(format)) return fail('unknown_format', `unknown card number format "${String(format)}"`);
  const n = suffixBytes(format);
  return ok(n === 0 ? u.value : u.value.slice(-n * 2));
}

/** Whether a stored UID is one the parsed number may stand for. */
export function keyMatches(uid: string, key: Pick<CardKey, 'format' | 'key'>): boolean {
  const m = matchKey(uid, key.format);
  return m.ok && m.value === key.key;
}

/** Prints a key (a UID suffix of the right length) in a format. */
function printKey(format: CardFormat, key: string): string {
  switch (format) {
    case 'hex':
      return key;
    case '8h10d':
      return pad(hexToInt(key), 10);
    case 'reversed':
      return pad(hexToInt(reverseBytes(key)), 10);
    case '6h8d':
      return pad(hexToInt(key), 8);
    case 'wg26':
      return `${pad(hexToInt(key.slice(0, 2)), 3)},${pad(hexToInt(key.slice(2)), 5)}`;
  }
}

/** The printed form of a UID, e.g. `formatCardNumber('5630F009', 'reversed')` → `0166735958`. */
export function formatCardNumber(uid: string, format: CardFormat): CardResult<string> {
  const k = matchKey(uid, format);
  if (!k.ok) return k;
  return ok(printKey(format, k.value));
}

/** Every printed form of a UID, for the console and for reports. */
export function cardForms(uid: string): CardResult<Record<CardFormat, string>> {
  const u = normalizeUid(uid);
  if (!u.ok) return u;
  const out = {} as Record<CardFormat, string>;
  for (const f of CARD_FORMATS) {
    const n = suffixBytes(f);
    out[f] = printKey(f, n === 0 ? u.value : u.value.slice(-n * 2));
  }
  return ok(out);
}

interface Cleaned {
  text: string;
  repairs: CardRepair[];
}

/** Undoes what Excel and hand typing do to a card number, short of guessing digits. */
function clean(raw: string): Cleaned {
  const repairs: CardRepair[] = [];
  let s = raw;
  const nfkc = s.normalize('NFKC');
  if (nfkc !== s) repairs.push('fullwidth_characters');
  s = nfkc;
  const trimmed = s.trim();
  if (trimmed !== s) repairs.push('trimmed');
  s = trimmed;
  // ="0009334109": the formula people use to keep Excel from eating leading zeros.
  const formula = /^=\s*"(.*)"$/.exec(s);
  if (formula) {
    s = formula[1]!.trim();
    repairs.push('excel_formula');
  }
  // '0009334109: Excel's text marker, exported as a literal apostrophe by some tools (also the typographic one).
  if (/^['‘’`]/.test(s)) {
    s = s.slice(1).trim();
    repairs.push('apostrophe_prefix');
  }
  if (/\s/.test(s)) {
    s = s.replace(/\s+/g, '');
    repairs.push('spaces_removed');
  }
  return { text: s, repairs };
}

/**
 * Reads a decimal that may have been through Excel. Returns the integer as a bigint, or an error.
 * Scientific notation is accepted only when it still carries every digit (1.446047753E+09); when Excel has
 * rounded it (1.44605E+09) the digits are gone and we say so instead of guessing.
 */
function readDecimal(s: string, repairs: CardRepair[], original: string): CardResult<{ value: bigint; digits: string }> {
  const sci = /^(\d+)(?:\.(\d*))?[eE]\+?(\d+)$/.exec(s);
  if (sci) {
    const intPart = sci[1]!;
    const frac = sci[2] ?? '';
    const exp = Number(sci[3]);
    if (frac.replace(/0+$/, '').length > exp) return fail('bad_characters', `"${original}" is not a whole number`);
    // The digits below the last one written are unknown unless the mantissa reaches down to the units.
    if (frac.length < exp) {
      return fail(
        'ambiguous_scientific',
        `"${original}" is in scientific notation and Excel has rounded away its last digits, so several cards could match; ` +
          'format the column as Text in the source system and export again',
      );
    }
    repairs.push('scientific_notation_expanded');
    const digits = intPart + frac.slice(0, exp);
    return ok({ value: BigInt(digits), digits });
  }
  // 1446047753.0: a number column exported with decimals.
  const dec = /^(\d+)\.0*$/.exec(s);
  if (dec) {
    repairs.push('decimal_point_removed');
    s = dec[1]!;
  }
  // 1,446,047,753: thousands separators (only when grouped correctly, so "111,27706" is never misread).
  if (/^\d{1,3}(,\d{3})+$/.test(s)) {
    repairs.push('separators_removed');
    s = s.replace(/,/g, '');
  }
  if (!/^\d+$/.test(s)) return fail('bad_characters', `"${original}" is not a decimal card number`);
  return ok({ value: BigInt(s), digits: s });
}

/**
 * Reads a printed card number back into the UID suffix it was made from (see the module comment). The result's
 * `key` is compared with `matchKey(uid, format)`; it may match several cards for every format except `hex`.
 */
export function parseCardNumber(text: string, format: CardFormat): CardResult<CardKey> {
  if (!isCardFormat(format)) return fail('unknown_format', `unknown card number format "${String(format)}"`);
  if (typeof text !== 'string') return fail('empty', 'no card number given');
  const { text: s, repairs } = clean(text);
  if (!s) return fail('empty', 'no card number given');
  const done = (key: string): CardResult<CardKey> =>
    ok({ format, key, exact: format === 'hex', printed: printKey(format, key), repairs });

  switch (format) {
    case 'hex': {
      if (/^\d+(\.\d+)?[eE]\+\d+$/.test(s)) {
        return fail('ambiguous_scientific', `"${text}" is a hex UID that Excel turned into a number in scientific notation`);
      }
      let h = s.replace(/^0x/i, '').replace(/[:-]/g, '').toUpperCase();
      if (!HEX_RE.test(h)) return fail('bad_characters', `"${text}" has characters other than hex digits`);
      // A hex UID made only of decimal digits loses its leading zeros in Excel. One lost zero is recoverable
      // (the byte count must be whole); more cannot be told apart from a shorter UID.
      if (h.length % 2 === 1 && UID_BYTE_LENGTHS.includes((h.length + 1) / 2)) {
        h = '0' + h;
        repairs.push('leading_zeros_restored');
      }
      if (h.length % 2 !== 0 || !UID_BYTE_LENGTHS.includes(h.length / 2)) {
        if (/^\d+$/.test(h) && h.length < 8) {
          return fail('ambiguous_leading_zeros', `"${text}" is too short for a UID; Excel probably dropped its leading zeros`);
        }
        return fail('bad_uid_length', `UID "${text}" is ${h.length} hex digits; expected ${UID_BYTE_LENGTHS.map((n) => n * 2).join(', ')}`);
      }
      return done(h);
    }
    case '8h10d':
    case 'reversed':
    case '6h8d': {
      const bytes = suffixBytes(format);
      const width = format === '6h8d' ? 8 : 10;
      const n = readDecimal(s, repairs, text);
      if (!n.ok) return n;
      const max = (1n << BigInt(bytes * 8)) - 1n;
      if (n.value.value > max) return fail('out_of_range', `"${text}" is larger than a ${format} number can be (${max})`);
      // Fewer digits than the printed width: Excel dropped zeros. The value is still exact, so restore them.
      if (n.value.digits.length < width) repairs.push('leading_zeros_restored');
      const hex = hexPad(Number(n.value.value), bytes);
      return done(format === 'reversed' ? reverseBytes(hex) : hex);
    }
    case 'wg26': {
      // FFF,CCCCC with any common separator; or the 8-digit FFFCCCCC some cards print without one.
      const m = /^(\d{1,3})[,，.:/-](\d{1,5})$/.exec(s) ?? /^(\d{3})(\d{5})$/.exec(s);
      if (!m) {
        if (/^\d{1,7}$/.test(s)) {
          return fail('ambiguous_leading_zeros', `"${text}" has no facility/card separator and too few digits for FFFCCCCC`);
        }
        return fail('bad_characters', `"${text}" is not a Wiegand-26 number (FFF,CCCCC)`);
      }
      const facility = Number(m[1]);
      const card = Number(m[2]);
      if (facility > 255) return fail('out_of_range', `facility ${facility} in "${text}" is over 255`);
      if (card > 65535) return fail('out_of_range', `card ${card} in "${text}" is over 65535`);
      return done(hexPad(facility, 1) + hexPad(card, 2));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Wiegand frames, as bit strings ('0'/'1', first bit sent first). Numbers would need 34 bits, past JS bitwise ops.

const ones = (bits: string): number => [...bits].filter((b) => b === '1').length;
const toBits = (n: number, width: number): string => n.toString(2).padStart(width, '0');

/** 26 bits: even parity over the first 12 data bits, facility (8), card (16), odd parity over the last 12. */
export function encodeWiegand26(facility: number, card: number): CardResult<string> {
  if (!Number.isInteger(facility) || facility < 0 || facility > 255) return fail('out_of_range', `facility ${facility} is not 0–255`);
  if (!Number.isInteger(card) || card < 0 || card > 65535) return fail('out_of_range', `card ${card} is not 0–65535`);
  const data = toBits(facility, 8) + toBits(card, 16);
  const even = ones(data.slice(0, 12)) % 2 === 1 ? '1' : '0';
  const odd = ones(data.slice(12)) % 2 === 0 ? '1' : '0';
  return ok(even + data + odd);
}

/** The Wiegand-26 frame a reader sends for a UID (its low 3 bytes). */
export function wiegand26FromUid(uid: string): CardResult<string> {
  const k = matchKey(uid, 'wg26');
  if (!k.ok) return k;
  return encodeWiegand26(hexToInt(k.value.slice(0, 2)), hexToInt(k.value.slice(2)));
}

/** 34 bits: even parity over the first 16 data bits, the low 4 UID bytes (32), odd parity over the last 16. */
export function encodeWiegand34(uid: string): CardResult<string> {
  const k = matchKey(uid, '8h10d');
  if (!k.ok) return k;
  const data = toBits(hexToInt(k.value), 32);
  const even = ones(data.slice(0, 16)) % 2 === 1 ? '1' : '0';
  const odd = ones(data.slice(16)) % 2 === 0 ? '1' : '0';
  return ok(even + data + odd);
}

export interface WiegandDecoded {
  bits: 26 | 34;
  /** The UID suffix the frame carries: 3 bytes for 26 bits (a `wg26` key), 4 for 34 (an `8h10d` key). */
  key: string;
  format: 'wg26' | '8h10d';
  facility?: number;
  card?: number;
}

/** Checks both parity bits and returns the data as a card key. */
export function decodeWiegand(bits: string): CardResult<WiegandDecoded> {
  if (!/^[01]+$/.test(bits)) return fail('bad_characters', 'a Wiegand frame is a string of 0 and 1');
  if (bits.length !== 26 && bits.length !== 34) return fail('bad_wiegand_length', `a Wiegand frame of ${bits.length} bits; expected 26 or 34`);
  const half = (bits.length - 2) / 2;
  const first = bits.slice(0, 1 + half);
  const last = bits.slice(1 + half);
  if (ones(first) % 2 !== 0 || ones(last) % 2 !== 1) return fail('bad_wiegand_parity', 'Wiegand parity check failed');
  const data = bits.slice(1, -1);
  if (bits.length === 26) {
    const facility = Number.parseInt(data.slice(0, 8), 2);
    const card = Number.parseInt(data.slice(8), 2);
    return ok({ bits: 26, key: hexPad(facility, 1) + hexPad(card, 2), format: 'wg26', facility, card });
  }
  return ok({ bits: 34, key: hexPad(Number.parseInt(data, 2), 4), format: '8h10d' });
}

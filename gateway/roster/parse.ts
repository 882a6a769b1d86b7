/**
 * A roster file's bytes into rows of named cells, with caps: the part of an import whose cost grows with the
 * file (decoding, CSV scanning), run on a worker thread (parse-worker.ts) so that it never holds the gates up.
 *
 * - Encoding: UTF-8 with or without BOM; anything that is not valid UTF-8 is read as GB18030 (what Excel
 *   writes on Chinese Windows).
 * - Headers in Chinese or English (学号/external_id, 姓名/name, 身份/role, 年级/grade, 班级/class,
 *   作息组/schedule_group, 卡号/card, 安保/security); column order does not matter.
 * - Records are handed on one at a time as the parser finds them and never collected here; the file is refused
 *   as soon as it passes `maxRows` data rows or a row passes `maxColumns` columns, so that a hostile file (a
 *   million one-character lines) costs no more than a legitimate one.
 */
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';

export type RosterField = 'externalId' | 'name' | 'role' | 'grade' | 'class' | 'scheduleGroup' | 'card' | 'security';

export type RosterEncoding = 'utf-8' | 'utf-8-bom' | 'gb18030';

const HEADERS: Record<string, RosterField> = {
  学号: 'externalId', 工号: 'externalId', 编号: 'externalId', 人员编号: 'externalId', external_id: 'externalId', externalid: 'externalId', id: 'externalId',
  姓名: 'name', name: 'name',
  身份: 'role', 角色: 'role', 类别: 'role', role: 'role',
  年级: 'grade', grade: 'grade',
  班级: 'class', class: 'class',
  作息组: 'scheduleGroup', schedule_group: 'scheduleGroup', schedulegroup: 'scheduleGroup',
  卡号: 'card', 卡号码: 'card', ic卡号: 'card', 物理卡号: 'card', 卡片号: 'card', 卡片编号: 'card', card: 'card', card_number: 'card', cardnumber: 'card',
  安保: 'security', security: 'security',
};

/** How a field's column is named in messages. */
export const HEADERS_SHOWN: Record<RosterField, string> = {
  externalId: '学号/external_id', name: '姓名/name', role: '身份/role', grade: '年级/grade', class: '班级/class',
  scheduleGroup: '作息组/schedule_group', card: '卡号/card', security: '安保/security',
};

export interface ParseLimits {
  maxRows: number;
  maxColumns: number;
}

/** One data row: its first line in the file and its cells (trimmed) by field; a column the file lacks is absent. */
export interface ParsedRow {
  line: number;
  cells: Partial<Record<RosterField, string>>;
  /** The cells of the header's `extra` columns, in their order (guardian columns are read from these). */
  extra: string[];
}

/** What the header says, known before the first data row. */
export interface ParsedHeader {
  encoding: RosterEncoding | null;
  /** The roster fields the file has a column for. */
  fields: RosterField[];
  ignoredColumns: string[];
  /** Header cells (normalised: lower case, spaces as `_`) that name no roster field, for readers of other columns. */
  extra: string[];
}

export interface ParseOutcome extends ParsedHeader {
  rows: number;
  /** File-level problems: nothing in the file is to be applied when there is one. */
  errors: string[];
}

/** No legitimate row comes near this (names are capped at 64 characters); it bounds what one field can buffer. */
const MAX_RECORD_CHARS = 64 * 1024;

/** Multi-byte UTF-8 characters that decode, bytes that do not, and where the first bad one is. */
function utf8Evidence(bytes: Uint8Array): { valid: number; invalid: number; firstBad: number } {
  let valid = 0;
  let invalid = 0;
  let firstBad = -1;
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    let ok = len > 0 && i + len <= bytes.length;
    for (let k = 1; ok && k < len; k++) ok = (bytes[i + k]! & 0xc0) === 0x80;
    if (ok) {
      valid++;
      i += len;
    } else {
      invalid++;
      if (firstBad < 0) firstBad = i;
      i++;
    }
  }
  return { valid, invalid, firstBad };
}

function lineAt(bytes: Uint8Array, end: number): number {
  let line = 1;
  for (let i = 0; i < end; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/**
 * UTF-8 (with or without BOM), else GB18030, as Excel writes CSV. A file that is neither is refused rather than read
 * as mojibake: most often a UTF-8 file with one character pasted from elsewhere, which GB18030 would turn into
 * garbled names for the whole school.
 */
export function decodeRoster(bytes: Uint8Array): { text: string; encoding: RosterEncoding } | { error: string } {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return { error: 'the file is UTF-16 ("Unicode text"); save it from Excel as "CSV UTF-8" or "CSV"' };
  }
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const body = bom ? bytes.subarray(3) : bytes;
  const utf8 = utf8Evidence(body);
  if (utf8.invalid === 0) return { text: new TextDecoder('utf-8').decode(body), encoding: bom ? 'utf-8-bom' : 'utf-8' };
  if (bom || utf8.valid > utf8.invalid) {
    const at = utf8.firstBad;
    return {
      error: `line ${lineAt(body, at)} is not valid UTF-8 (byte 0x${body[at]!.toString(16).toUpperCase()}) though the rest of the file is: ` +
        'fix that character, or save the file again as "CSV UTF-8"',
    };
  }
  const text = iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'gb18030');
  const bad = text.indexOf('\uFFFD');
  if (bad >= 0) {
    let line = 1;
    for (let i = 0; i < bad; i++) if (text.charCodeAt(i) === 0x0a) line++;
    return { error: `the file is neither UTF-8 nor GB18030 (line ${line}): save it from Excel as "CSV UTF-8" or "CSV"` };
  }
  return { text, encoding: 'gb18030' };
}

/** Stops the parser from inside its record callback; carries the file-level message. */
class Refused extends Error {}

/**
 * Reads the file and calls `onHeader` once, then `onRow` for each data row in order, unless the file is refused
 * first. Returns what the file-level checks found; rows already handed on are void when `errors` is not empty.
 */
export function parseRoster(
  bytes: Uint8Array,
  limits: ParseLimits,
  onHeader: (header: ParsedHeader) => void,
  onRow: (row: ParsedRow) => void,
): ParseOutcome {
  const outcome: ParseOutcome = { encoding: null, fields: [], ignoredColumns: [], extra: [], rows: 0, errors: [] };
  const decoded = decodeRoster(bytes);
  if ('error' in decoded) {
    outcome.errors.push(decoded.error);
    return outcome;
  }
  outcome.encoding = decoded.encoding;
  const columns = new Map<RosterField, number>();
  const extraColumns: number[] = [];
  let headerSeen = false;

  const onRecord = (record: string[], info: { lines: number }): null => {
    if (record.length > limits.maxColumns) {
      throw new Refused(`line ${info.lines} has ${record.length} columns; a roster has at most ${limits.maxColumns}`);
    }
    if (!headerSeen) {
      headerSeen = true;
      record.forEach((h, i) => {
        const key = h.replace(/^\uFEFF/, '').trim().toLowerCase().replace(/\s+/g, '_');
        const field = HEADERS[key] ?? HEADERS[key.replace(/_/g, '')];
        if (!field) {
          if (h.trim()) {
            outcome.ignoredColumns.push(h.trim());
            outcome.extra.push(key);
            extraColumns.push(i);
          }
        } else if (columns.has(field)) {
          // Which one did the school mean? Reading either could issue the wrong cards.
          outcome.errors.push(`columns ${columns.get(field)! + 1} and ${i + 1} are both ${HEADERS_SHOWN[field]}: keep one`);
        } else columns.set(field, i);
      });
      for (const required of ['externalId', 'name'] as const) {
        if (!columns.has(required)) outcome.errors.push(`no ${HEADERS_SHOWN[required]} column in the header (line ${info.lines})`);
      }
      // No point reading on: the file cannot be applied (and a file that is no roster can be anything, at any length).
      if (outcome.errors.length > 0) throw new Refused('');
      outcome.fields = [...columns.keys()];
      onHeader({ encoding: outcome.encoding, fields: outcome.fields, ignoredColumns: outcome.ignoredColumns, extra: outcome.extra });
      return null;
    }
    if (outcome.rows >= limits.maxRows) {
      throw new Refused(`the file has more than ${limits.maxRows} rows (roster.maxRows); split it, or raise the limit`);
    }
    outcome.rows++;
    const cells: ParsedRow['cells'] = {};
    for (const [field, i] of columns) cells[field] = (record[i] ?? '').trim();
    // csv-parse reports the line a record ends on; a quoted field may span lines.
    let breaks = 0;
    for (const cell of record) for (let k = cell.indexOf('\n'); k >= 0; k = cell.indexOf('\n', k + 1)) breaks++;
    onRow({ line: info.lines - breaks, cells, extra: extraColumns.map((i) => (record[i] ?? '').trim()) });
    return null;
  };

  try {
    // csv-parse counts a quoted CRLF as two lines; plain LF keeps the line numbers right. Every record goes to
    // onRecord, which keeps nothing (returns null), so the parser's output stays empty whatever the file holds.
    parse(decoded.text.replace(/\r\n?/g, '\n'), {
      relax_column_count: true, skip_empty_lines: true, trim: true, max_record_size: MAX_RECORD_CHARS,
      on_record: onRecord,
    });
  } catch (err) {
    if (err instanceof Refused) {
      if (err.message) outcome.errors.push(err.message);
    } else {
      outcome.errors.push(`not readable as CSV: ${(err as Error).message}`);
    }
    return outcome;
  }
  if (!headerSeen) outcome.errors.push('the file is empty');
  return outcome;
}

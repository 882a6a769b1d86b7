/**
 * Roster import: a school's CSV of students and staff (as Excel exports it) into persons and cards.
 *
 * - Encoding: UTF-8 with or without BOM; anything that is not valid UTF-8 is read as GB18030 (what Excel
 *   writes on Chinese Windows).
 * - Headers in Chinese or English (学号/external_id, 姓名/name, 身份/role, 年级/grade, 班级/class,
 *   作息组/schedule_group, 卡号/card, 安保/security); column order does not matter.
 * - Idempotent on the external id: a row updates its person, and re-importing a file changes nothing.
 * - All or nothing: rows are applied in one transaction, so later rows see earlier ones (a card given twice
 *   is caught), and any rejected row rolls the whole file back. The report lists every accepted and every
 *   rejected row with its line number.
 */
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import type { CardFormat } from '../core/card-number.js';
import type { PersonRole } from '../access/contract.js';
import type { EventBus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import type { Database } from '../storage/db.js';
import { cardTarget } from '../people/card-keys.js';
import { externalIdSchema, scheduleGroupProblem } from '../people/schema.js';
import { CardKeyIndex, personFromRow, type CardChangedEvent, type PersonRow } from '../people/store.js';
import { RosterGuardianColumns } from '../guardians/roster-columns.js';

export type RosterField = 'externalId' | 'name' | 'role' | 'grade' | 'class' | 'scheduleGroup' | 'card' | 'security';

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
const HEADERS_SHOWN: Record<RosterField, string> = {
  externalId: '学号/external_id', name: '姓名/name', role: '身份/role', grade: '年级/grade', class: '班级/class',
  scheduleGroup: '作息组/schedule_group', card: '卡号/card', security: '安保/security',
};

const ROLES: Record<string, PersonRole> = {
  student: 'student', 学生: 'student',
  staff: 'staff', teacher: 'staff', 教师: 'staff', 老师: 'staff', 教职工: 'staff', 职工: 'staff', 员工: 'staff',
  visitor: 'visitor', 访客: 'visitor', 来宾: 'visitor',
};

const YES = new Set(['1', 'y', 'yes', 'true', '是', '√']);
const NO = new Set(['', '0', 'n', 'no', 'false', '否']);

export interface AcceptedRow {
  line: number;
  externalId: string;
  name: string;
  action: 'created' | 'updated' | 'unchanged';
  card?: { uid: string; match: 'exact' | 'suffix'; action: 'issued' | 'unchanged' | 'completed'; note?: string };
}

export interface RejectedRow {
  line: number;
  externalId?: string;
  reason: string;
}

export interface RosterReport {
  /** True when the file was applied; false when any row was rejected (then nothing was written). */
  committed: boolean;
  /** Null when the file is in none of them. */
  encoding: 'utf-8' | 'utf-8-bom' | 'gb18030' | null;
  cardFormat: CardFormat;
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  cardsIssued: number;
  accepted: AcceptedRow[];
  rejected: RejectedRow[];
  /** File-level problems (no header, missing or repeated columns, unreadable CSV). */
  errors: string[];
  /** Header cells that name no roster field: their columns were not read (a card column under another name shows here). */
  ignoredColumns: string[];
}

export interface RosterOptions {
  db: Database;
  clock: Clock;
  cardFormat: CardFormat;
  /** Configured schedule group ids; a row naming another one is rejected. `default` is always accepted. */
  scheduleGroups: readonly string[];
  /** Validate and report without writing. */
  dryRun?: boolean;
  /** Where `card.changed` goes for each card issued, once the import has committed (the API's; the CLI has none). */
  bus?: EventBus;
  /** Who imported, for those events. */
  by?: string;
  /** Key that seals guardians' numbers (gateway/guardians/roster-columns.ts); guardian columns without one are refused. */
  guardianKey?: string | undefined;
}

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

const lineAt = (bytes: Uint8Array, end: number): number => bytes.subarray(0, end).filter((b) => b === 0x0a).length + 1;

/**
 * UTF-8 (with or without BOM), else GB18030, as Excel writes CSV. A file that is neither is refused rather than read
 * as mojibake: most often a UTF-8 file with one character pasted from elsewhere, which GB18030 would turn into
 * garbled names for the whole school.
 */
export function decodeRoster(bytes: Uint8Array): { text: string; encoding: RosterReport['encoding'] } | { error: string } {
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
  const text = iconv.decode(Buffer.from(bytes), 'gb18030');
  const bad = text.indexOf('\uFFFD');
  if (bad >= 0) {
    return { error: `the file is neither UTF-8 nor GB18030 (line ${text.slice(0, bad).split('\n').length}): save it from Excel as "CSV UTF-8" or "CSV"` };
  }
  return { text, encoding: 'gb18030' };
}

class Rollback extends Error {}

export function importRoster(bytes: Uint8Array, opts: RosterOptions): RosterReport {
  const decoded = decodeRoster(bytes);
  const report: RosterReport = {
    committed: false, encoding: 'encoding' in decoded ? decoded.encoding : null, cardFormat: opts.cardFormat, rows: 0, created: 0,
    updated: 0, unchanged: 0, cardsIssued: 0, accepted: [], rejected: [], errors: [], ignoredColumns: [],
  };
  if ('error' in decoded) {
    report.errors.push(decoded.error);
    return report;
  }
  const { text } = decoded;
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // csv-parse counts a quoted CRLF as two lines; plain LF keeps the line numbers right.
    records = parse(text.replace(/\r\n?/g, '\n'), { info: true, relax_column_count: true, skip_empty_lines: true, trim: true }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
  } catch (err) {
    report.errors.push(`not readable as CSV: ${(err as Error).message}`);
    return report;
  }
  const header = records.shift();
  if (!header) {
    report.errors.push('the file is empty');
    return report;
  }
  const columns = new Map<RosterField, number>();
  const guardianColumns = new RosterGuardianColumns(opts.guardianKey);
  header.record.forEach((h, i) => {
    const key = h.replace(/^\uFEFF/, '').trim().toLowerCase().replace(/\s+/g, '_');
    const field = HEADERS[key] ?? HEADERS[key.replace(/_/g, '')];
    const guardian = field ? undefined : guardianColumns.claim(key, i);
    if (guardian === 'repeated') report.errors.push(`column ${i + 1} (${h.trim()}) repeats another guardian column: keep one`);
    else if (guardian) return;
    else if (!field) {
      if (h.trim()) report.ignoredColumns.push(h.trim());
    } else if (columns.has(field)) {
      // Which one did the school mean? Reading either could issue the wrong cards.
      report.errors.push(`columns ${columns.get(field)! + 1} and ${i + 1} are both ${HEADERS_SHOWN[field]}: keep one`);
    } else columns.set(field, i);
  });
  for (const required of ['externalId', 'name'] as const) {
    if (!columns.has(required)) {
      report.errors.push(`no ${HEADERS_SHOWN[required]} column in the header (line ${header.info.lines})`);
    }
  }
  report.errors.push(...guardianColumns.problems());
  if (report.errors.length > 0) return report;

  const groups = new Set(opts.scheduleGroups);
  const nowIso = new Date(opts.clock.now()).toISOString();
  const db = opts.db;
  const byExternalId = db.prepare<[string], PersonRow>('SELECT * FROM persons WHERE external_id = ?');
  const insertPerson = db.prepare(
    `INSERT INTO persons (external_id, name, role, grade, class, schedule_group, security, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const updatePerson = db.prepare(
    'UPDATE persons SET name = ?, role = ?, grade = ?, class = ?, schedule_group = ?, security = ?, updated_at = ? WHERE id = ?',
  );
  const insertCard = db.prepare(
    `INSERT INTO cards (uid, person_id, status, valid_from, valid_to, issued_at, updated_at, match) VALUES (?, ?, 'active', NULL, NULL, ?, ?, ?)`,
  );
  const completeCard = db.prepare(`UPDATE cards SET uid = ?, match = 'exact', updated_at = ? WHERE uid = ?`);
  const keys = new CardKeyIndex(db);
  const seen = new Map<string, number>();
  const issued: CardChangedEvent[] = [];

  const apply = (): void => {
    for (const { record, info } of records) {
      // csv-parse reports the line a record ends on; a quoted field may span lines.
      const line = info.lines - (record.join('').split('\n').length - 1);
      report.rows++;
      const cell = (f: RosterField): string => {
        const i = columns.get(f);
        return i === undefined ? '' : (record[i] ?? '').trim();
      };
      const reject = (reason: string, externalId?: string): void => {
        report.rejected.push({ line, ...(externalId ? { externalId } : {}), reason });
      };

      const idParsed = externalIdSchema.safeParse(cell('externalId'));
      if (!idParsed.success) {
        reject(cell('externalId') ? `学号/external_id "${cell('externalId')}": letters, digits, "_", "." or "-"` : '学号/external_id is empty');
        continue;
      }
      const externalId = idParsed.data;
      const first = seen.get(externalId);
      if (first !== undefined) {
        reject(`external id ${externalId} repeats line ${first}`, externalId);
        continue;
      }
      seen.set(externalId, line);
      const name = cell('name');
      if (!name) {
        reject('姓名/name is empty', externalId);
        continue;
      }
      if (name.length > 64) {
        reject('姓名/name is longer than 64 characters', externalId);
        continue;
      }
      const row = byExternalId.get(externalId);
      const current = row ? personFromRow(row) : undefined;
      // A column the file does not have leaves a known person's field as it is: a sheet of names and cards must not
      // turn staff into students or take the guards' lockdown pass. A new person gets the default.
      const kept = (f: RosterField): boolean => current !== undefined && !columns.has(f);
      const roleText = cell('role').toLowerCase();
      const role: PersonRole | undefined = kept('role') ? current!.role : roleText === '' ? 'student' : ROLES[roleText];
      if (!role) {
        reject(`身份/role "${cell('role')}": expected student/学生, staff/教师 or visitor/访客`, externalId);
        continue;
      }
      const group = kept('scheduleGroup') ? current!.scheduleGroup : cell('scheduleGroup') || 'default';
      const groupProblem = kept('scheduleGroup') ? null : scheduleGroupProblem(groups, group);
      if (groupProblem) {
        reject(`作息组/schedule_group ${groupProblem}`, externalId);
        continue;
      }
      const securityText = cell('security').toLowerCase();
      if (!YES.has(securityText) && !NO.has(securityText)) {
        reject(`安保/security "${cell('security')}": expected 是/否 or yes/no`, externalId);
        continue;
      }
      const security = kept('security') ? current!.security : YES.has(securityText);
      if (security && role !== 'staff') {
        reject(kept('security') ? `${externalId} is security staff: give 安保/security 否 to make them ${role}` : '安保/security is only for staff', externalId);
        continue;
      }
      const grade = kept('grade') ? current!.grade : cell('grade') || null;
      const klass = kept('class') ? current!.class : cell('class') || null;

      const guardians = guardianColumns.read(record);
      if (!guardians.ok) {
        reject(guardians.reason, externalId);
        continue;
      }

      let target: { uid: string; match: 'exact' | 'suffix'; printed: string } | undefined;
      const cardText = cell('card');
      if (cardText) {
        const t = cardTarget(cardText, opts.cardFormat);
        if (!t.ok) {
          reject(`卡号/card "${cardText}" (${opts.cardFormat}): ${t.reason}`, externalId);
          continue;
        }
        target = t;
      }

      // The person.
      let personId: number;
      let action: AcceptedRow['action'];
      if (!current) {
        personId = Number(insertPerson.run(externalId, name, role, grade, klass, group, security ? 1 : 0, nowIso, nowIso).lastInsertRowid);
        action = 'created';
      } else {
        personId = current.id;
        const same = current.name === name && current.role === role && current.grade === grade && current.class === klass
          && current.scheduleGroup === group && current.security === security;
        if (!same) updatePerson.run(name, role, grade, klass, group, security ? 1 : 0, nowIso, personId);
        action = same ? 'unchanged' : 'updated';
      }

      guardianColumns.write(db, personId, guardians.guardians, opts.by ?? 'roster-import', nowIso);

      // The card.
      let card: AcceptedRow['card'];
      if (target) {
        const candidates = keys.candidates(target);
        const others = candidates.filter((c) => c.personId !== personId);
        if (others.length > 0) {
          const holders = db
            .prepare(`SELECT external_id FROM persons WHERE id IN (${others.map(() => '?').join(',')})`)
            .all(...others.map((c) => c.personId)) as { external_id: string }[];
          const what = target.match === 'exact' ? `card ${target.uid}` : `${opts.cardFormat} ${target.printed} (low bytes ${target.uid})`;
          reject(
            others.length === 1 && candidates.length === 1
              ? `${what} is already issued to ${holders[0]?.external_id ?? `person ${others[0]!.personId}`}`
              : `${what} matches ${candidates.length} cards (${candidates.map((c) => c.uid).join(', ')}) held by ${holders.map((h) => h.external_id).join(', ')}; give the hex UID`,
            externalId,
          );
          continue;
        }
        const own = candidates.find((c) => c.uid === target.uid) ?? candidates[0];
        if (target.match === 'exact' && own && own.uid !== target.uid && own.match === 'suffix') {
          // A partial card from an earlier decimal import, now known by its whole UID.
          completeCard.run(target.uid, nowIso, own.uid);
          card = { uid: target.uid, match: 'exact', action: 'completed', note: `partial card ${own.uid} completed to the whole UID` };
        } else if (own) {
          card = { uid: own.uid, match: own.match, action: 'unchanged' };
        } else {
          insertCard.run(target.uid, personId, nowIso, nowIso, target.match);
          issued.push({ uid: target.uid, personId, externalId, status: 'active', previous: null, by: opts.by ?? 'roster-import', at: opts.clock.now() });
          report.cardsIssued++;
          card = {
            uid: target.uid, match: target.match, action: 'issued',
            ...(target.match === 'suffix'
              ? { note: `${opts.cardFormat} carries only the low ${target.uid.length / 2} bytes; the card matches any UID ending in ${target.uid}` }
              : {}),
          };
        }
      }
      report[action]++;
      report.accepted.push({ line, externalId, name, action, ...(card ? { card } : {}) });
    }
    if (report.rejected.length > 0 || opts.dryRun) throw new Rollback();
  };

  try {
    db.transaction(apply)();
    report.committed = true;
    for (const e of issued) opts.bus?.emit('card.changed', e);
  } catch (err) {
    if (!(err instanceof Rollback)) throw err;
  }
  if (!report.committed) {
    // Nothing was written, so nothing was created, updated or issued.
    if (report.rejected.length > 0) report.errors.push(`${report.rejected.length} row(s) rejected: nothing was imported; fix them and import the file again`);
  }
  return report;
}

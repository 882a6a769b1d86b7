/**
 * Checks parsed roster rows against the school's rules and the database, without writing: what each row would
 * do (create, update, issue a card…) or why it is rejected. Reads only, a chunk of rows per event-loop turn, so
 * the gates are answered between chunks; the rows of the file seen so far are kept in memory so that later rows
 * see earlier ones (an external id or a card given twice is caught) exactly as if they had been written.
 */
import type { PersonRef, PersonRole } from '../people/types.js';
import type { CardFormat } from '../core/card-number.js';
import type { Database } from '../storage/db.js';
import { cardTarget } from '../people/card-keys.js';
import { externalIdSchema, scheduleGroupProblem, type Card, type Person } from '../people/schema.js';
import { CardKeyIndex, personFromRow, type PersonRow } from '../people/store.js';
import type { ParsedRow, RosterField } from './parse.js';
import type { AcceptedRow, RejectedRow } from './report.js';
import type { GuardianRecord } from '../guardians/store.js';
import type { RosterGuardianColumns } from '../guardians/roster-columns.js';

const ROLES: Record<string, PersonRole> = {
  student: 'student', 学生: 'student',
  staff: 'staff', teacher: 'staff', 教师: 'staff', 老师: 'staff', 教职工: 'staff', 职工: 'staff', 员工: 'staff',
  visitor: 'visitor', 访客: 'visitor', 来宾: 'visitor',
};

const YES = new Set(['1', 'y', 'yes', 'true', '是', '√']);
const NO = new Set(['', '0', 'n', 'no', 'false', '否']);

/** Rows checked per event-loop turn: a few milliseconds of indexed reads. */
export const CHECK_CHUNK = 500;

/** Lets the event loop run what has arrived (taps first) before the next chunk. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The person's fields as the row leaves them. */
export interface PersonValues extends Omit<PersonRef, 'id'> {
  security: boolean;
}

/** A checked row: what applying it writes, with the state it was checked against (apply.ts verifies it still holds). */
export interface PlannedRow {
  line: number;
  values: PersonValues;
  person: { kind: 'create' } | { kind: 'update' | 'unchanged'; id: number; updatedAt: string };
  card?:
    | { kind: 'issue'; uid: string; match: 'exact' | 'suffix' }
    | { kind: 'complete'; from: string; uid: string }
    | { kind: 'unchanged' };
  /** The student's guardians as the row names them (written after the person). */
  guardians: GuardianRecord[];
  accepted: AcceptedRow;
}

export interface CheckOptions {
  db: Database;
  cardFormat: CardFormat;
  scheduleGroups: readonly string[];
  /** The file's guardian columns (gateway/guardians/roster-columns.ts), read from each row's extra cells. */
  guardianColumns?: RosterGuardianColumns;
}

export interface CheckResult {
  planned: PlannedRow[];
  rejected: RejectedRow[];
}

interface FileCard {
  uid: string;
  match: 'exact' | 'suffix';
  externalId: string;
}

/** Cards issued by earlier rows of this file, found the way CardKeyIndex finds stored ones. */
class FileCards {
  private readonly byUid = new Map<string, FileCard>();
  private readonly byLow4 = new Map<string, FileCard[]>();
  private readonly byLow3 = new Map<string, FileCard[]>();

  add(card: FileCard): void {
    this.byUid.set(card.uid, card);
    if (card.uid.length >= 8) this.byLow4.set(card.uid.slice(-8), [...(this.byLow4.get(card.uid.slice(-8)) ?? []), card]);
    if (card.uid.length >= 6) this.byLow3.set(card.uid.slice(-6), [...(this.byLow3.get(card.uid.slice(-6)) ?? []), card]);
  }

  candidates(target: { uid: string; match: 'exact' | 'suffix' }): FileCard[] {
    if (target.match === 'exact') {
      // The card itself, or a partial one (a decimal form) its low bytes complete.
      const partials = [target.uid.slice(-8), target.uid.slice(-6)]
        .filter((uid) => uid !== target.uid)
        .map((uid) => this.byUid.get(uid))
        .filter((c): c is FileCard => c?.match === 'suffix');
      const exact = this.byUid.get(target.uid);
      return [...(exact ? [exact] : []), ...partials];
    }
    return (target.uid.length === 8 ? this.byLow4 : this.byLow3).get(target.uid) ?? [];
  }
}

export class RosterChecker {
  private readonly groups: Set<string>;
  private readonly byExternalId;
  private readonly holders;
  private readonly keys: CardKeyIndex;
  private readonly seen = new Map<string, number>();
  private readonly fileCards = new FileCards();

  constructor(
    private readonly opts: CheckOptions,
    /** The fields the file has columns for. */
    private readonly columns: ReadonlySet<RosterField>,
  ) {
    this.groups = new Set(opts.scheduleGroups);
    this.byExternalId = opts.db.prepare<[string], PersonRow>('SELECT * FROM persons WHERE external_id = ?');
    this.holders = opts.db.prepare<[number], { external_id: string }>('SELECT external_id FROM persons WHERE id = ?');
    this.keys = new CardKeyIndex(opts.db);
  }

  /** Checks every row, yielding to the event loop between chunks. */
  async checkAll(rows: readonly ParsedRow[]): Promise<CheckResult> {
    const result: CheckResult = { planned: [], rejected: [] };
    for (let i = 0; i < rows.length; i += CHECK_CHUNK) {
      if (i > 0) await nextTurn();
      for (const row of rows.slice(i, i + CHECK_CHUNK)) {
        const r = this.check(row);
        if ('reason' in r) result.rejected.push(r);
        else result.planned.push(r);
      }
    }
    return result;
  }

  /** One row: its plan, or why it is rejected. */
  check({ line, cells, extra }: ParsedRow): PlannedRow | RejectedRow {
    const cell = (f: RosterField): string => cells[f] ?? '';
    const reject = (reason: string, externalId?: string): RejectedRow => ({ line, ...(externalId ? { externalId } : {}), reason });

    const idParsed = externalIdSchema.safeParse(cell('externalId'));
    if (!idParsed.success) {
      return reject(cell('externalId') ? `学号/external_id "${cell('externalId')}": letters, digits, "_", "." or "-"` : '学号/external_id is empty');
    }
    const externalId = idParsed.data;
    const first = this.seen.get(externalId);
    if (first !== undefined) return reject(`external id ${externalId} repeats line ${first}`, externalId);
    this.seen.set(externalId, line);
    const name = cell('name');
    if (!name) return reject('姓名/name is empty', externalId);
    if (name.length > 64) return reject('姓名/name is longer than 64 characters', externalId);

    const row = this.byExternalId.get(externalId);
    const current = row ? personFromRow(row) : undefined;
    const values = this.values(externalId, name, cell, current);
    if (typeof values === 'string') return reject(values, externalId);
    const read = this.opts.guardianColumns?.read(extra) ?? { ok: true as const, guardians: [] };
    if (!read.ok) return reject(read.reason, externalId);
    const guardians = read.guardians;

    let target: { uid: string; match: 'exact' | 'suffix'; printed: string } | undefined;
    const cardText = cell('card');
    if (cardText) {
      const t = cardTarget(cardText, this.opts.cardFormat);
      if (!t.ok) return reject(`卡号/card "${cardText}" (${this.opts.cardFormat}): ${t.reason}`, externalId);
      target = t;
    }

    const person: PlannedRow['person'] = !current
      ? { kind: 'create' }
      : { kind: samePerson(current, values) ? 'unchanged' : 'update', id: current.id, updatedAt: row!.updated_at };
    const action: AcceptedRow['action'] = person.kind === 'create' ? 'created' : person.kind === 'update' ? 'updated' : 'unchanged';
    const accepted: AcceptedRow = { line, externalId, name, action };
    if (!target) return { line, values, person, guardians, accepted };

    const stored = this.keys.candidates(target);
    const others = stored.filter((c) => c.personId !== current?.id);
    const inFile = this.fileCards.candidates(target);
    if (others.length > 0 || inFile.length > 0) return reject(this.cardTaken(target, stored, others, inFile), externalId);
    const own = stored.find((c) => c.uid === target.uid) ?? stored[0];
    let card: PlannedRow['card'];
    if (target.match === 'exact' && own && own.uid !== target.uid && own.match === 'suffix') {
      // A partial card from an earlier decimal import, now known by its whole UID.
      card = { kind: 'complete', from: own.uid, uid: target.uid };
      accepted.card = { uid: target.uid, match: 'exact', action: 'completed', note: `partial card ${own.uid} completed to the whole UID` };
    } else if (own) {
      card = { kind: 'unchanged' };
      accepted.card = { uid: own.uid, match: own.match, action: 'unchanged' };
    } else {
      card = { kind: 'issue', uid: target.uid, match: target.match };
      this.fileCards.add({ uid: target.uid, match: target.match, externalId });
      accepted.card = {
        uid: target.uid, match: target.match, action: 'issued',
        ...(target.match === 'suffix'
          ? { note: `${this.opts.cardFormat} carries only the low ${target.uid.length / 2} bytes; the card matches any UID ending in ${target.uid}` }
          : {}),
      };
    }
    return { line, values, person, card, guardians, accepted };
  }

  /** The person's fields from the row, or why they are refused. */
  private values(externalId: string, name: string, cell: (f: RosterField) => string, current: Person | undefined): PersonValues | string {
    // A column the file does not have leaves a known person's field as it is: a sheet of names and cards must not
    // turn staff into students or take the guards' lockdown pass. A new person gets the default.
    const kept = (f: RosterField): boolean => current !== undefined && !this.columns.has(f);
    const roleText = cell('role').toLowerCase();
    const role: PersonRole | undefined = kept('role') ? current!.role : roleText === '' ? 'student' : ROLES[roleText];
    if (!role) return `身份/role "${cell('role')}": expected student/学生, staff/教师 or visitor/访客`;
    const group = kept('scheduleGroup') ? current!.scheduleGroup : cell('scheduleGroup') || 'default';
    const groupProblem = kept('scheduleGroup') ? null : scheduleGroupProblem(this.groups, group);
    if (groupProblem) return `作息组/schedule_group ${groupProblem}`;
    const securityText = cell('security').toLowerCase();
    if (!YES.has(securityText) && !NO.has(securityText)) return `安保/security "${cell('security')}": expected 是/否 or yes/no`;
    const security = kept('security') ? current!.security : YES.has(securityText);
    if (security && role !== 'staff') {
      return kept('security') ? `${externalId} is security staff: give 安保/security 否 to make them ${role}` : '安保/security is only for staff';
    }
    return {
      externalId, name, role, security, scheduleGroup: group,
      grade: kept('grade') ? current!.grade : cell('grade') || null,
      class: kept('class') ? current!.class : cell('class') || null,
    };
  }

  private cardTaken(target: { uid: string; match: 'exact' | 'suffix'; printed: string }, stored: Card[], others: Card[], inFile: FileCard[]): string {
    const holders = [
      ...[...new Set(others.map((c) => c.personId))].map((id) => this.holders.get(id)?.external_id ?? `person ${id}`),
      ...inFile.map((c) => c.externalId),
    ];
    const uids = [...stored.map((c) => c.uid), ...inFile.map((c) => c.uid)];
    const what = target.match === 'exact' ? `card ${target.uid}` : `${this.opts.cardFormat} ${target.printed} (low bytes ${target.uid})`;
    return uids.length === 1
      ? `${what} is already issued to ${holders[0]}`
      : `${what} matches ${uids.length} cards (${uids.join(', ')}) held by ${holders.join(', ')}; give the hex UID`;
  }
}

function samePerson(current: Person, v: PersonValues): boolean {
  return current.name === v.name && current.role === v.role && current.grade === v.grade && current.class === v.class
    && current.scheduleGroup === v.scheduleGroup && current.security === v.security;
}

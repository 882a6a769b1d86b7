/**
 * The attendance register: first-in and last-out per person per school-local day from granted gate taps,
 * and each person's status for a date against their schedule group's arrival cut-off and the calendar.
 */
import type { AccessConfig } from '../../config/access.js';
import type { TapDecision } from '../access/contract.js';
import { personFieldsOf, type PersonRef, type PersonRole } from '../people/types.js';
import type { PersonRow } from '../people/store.js';
import type { AttendanceCounts } from '../core/attendance-counts.js';
import type { Clock } from '../core/clock.js';
import { notFound } from '../core/errors.js';
import { compareSchoolNames } from '../core/school-order.js';
import type { Database, Statement } from '../storage/db.js';
import { arrivalCutoff, dayKind, fallbackArrivalCutoff, isSchoolDay, localDate, localTime, nextDate, secondsOf, startOfLocalDay, type DayKind } from '../core/school-calendar.js';

/**
 * `expected`: a school day on which the person has not tapped in and their cut-off has not passed yet
 * (today before the bell, or a future date); it becomes `absent` once the cut-off is behind us.
 * `null`: not a school day and no tap: nothing to say.
 */
export type AttendanceStatus = 'present' | 'late' | 'absent' | 'excused' | 'expected';

export type Counts = AttendanceCounts;

/** A person's school day: who (PersonRef but the row id), and how they arrived and left. */
export interface PersonDay extends Omit<PersonRef, 'id'> {
  status: AttendanceStatus | null;
  /** ISO instant of the first granted entry through a gate that day. */
  firstIn: string | null;
  /** The same as school-local HH:MM:SS, for people to read. */
  firstInLocal: string | null;
  firstInReader: string | null;
  lastOut: string | null;
  lastOutLocal: string | null;
  lastOutReader: string | null;
  arrivalCutoff: string;
  excuse: { reason: string; by: string } | null;
}

export interface ClassCounts extends Counts {
  class: string | null;
}

export interface GradeCounts extends Counts {
  grade: string | null;
  classes: ClassCounts[];
}

/** What leaves the school for the city: counts by grade and class, no names, no ids. */
export interface AttendanceSummary {
  date: string;
  schoolDay: boolean;
  dayKind: DayKind;
  totals: Counts;
  grades: GradeCounts[];
}

export interface AttendanceReport extends AttendanceSummary {
  people: PersonDay[];
}

export interface Scope {
  role?: PersonRole | 'all';
  grade?: string;
  class?: string;
}

type PersonDayRow = Pick<PersonRow, 'id' | 'external_id' | 'name' | 'role' | 'grade' | 'class' | 'schedule_group' | 'created_at'>;

/** A person's attendance_days row for one date, as the register reads it. */
interface DayRow {
  date: string;
  first_in_at: number | null;
  first_in_reader: string | null;
  last_out_at: number | null;
  last_out_reader: string | null;
  taps_out: number | null;
}

interface ExcuseRow {
  date: string;
  excuse_reason: string | null;
  excused_by: string | null;
}

type JoinedRow = PersonDayRow & Omit<DayRow, 'date'> & Omit<ExcuseRow, 'date'>;

/** A student the register calls absent on a date: who, and what the guardians' absence check groups them by. */
export interface Absentee {
  /** The persons row, for what is queued about the student (a guardian's message). */
  personId: number;
  externalId: string;
  name: string;
  grade: string | null;
  class: string | null;
  scheduleGroup: string;
}

/**
 * `statusOf`'s road to 'absent', as a filter: on the roll that day, no first entry, no excuse and no exit that day,
 * and the person's group's cut-off behind us (`@passed`: the listed groups already past theirs; a group the config
 * does not list has the fallback cut-off, `@fallbackPassed`). Whether it is a school day and not a later date than
 * today is decided before it runs.
 */
const ABSENTEES = `
  SELECT p.id AS personId, p.external_id AS externalId, p.name, p.grade, p.class, p.schedule_group AS scheduleGroup
  FROM persons p
  WHERE p.role = 'student' AND p.created_at < @enrolledBefore
    AND NOT EXISTS (SELECT 1 FROM attendance_days d
                    WHERE d.person_id = p.id AND d.date = @date AND (d.first_in_at IS NOT NULL OR d.taps_out > 0))
    AND NOT EXISTS (SELECT 1 FROM attendance_excuses e WHERE e.person_id = p.id AND e.date = @date)
    AND (p.schedule_group IN (SELECT value FROM json_each(@passed))
         OR (@fallbackPassed = 1 AND p.schedule_group NOT IN (SELECT value FROM json_each(@listed))))
  ORDER BY p.name, p.external_id`;

const UPSERT = `
  INSERT INTO attendance_days (person_id, date, first_in_at, first_in_reader, last_out_at, last_out_reader, taps_in, taps_out)
  VALUES (@personId, @date, @inAt, @inReader, @outAt, @outReader, @tapsIn, @tapsOut)
  ON CONFLICT (person_id, date) DO UPDATE SET
    first_in_reader = CASE WHEN excluded.first_in_at IS NOT NULL AND (first_in_at IS NULL OR excluded.first_in_at < first_in_at)
                           THEN excluded.first_in_reader ELSE first_in_reader END,
    first_in_at = CASE WHEN excluded.first_in_at IS NOT NULL AND (first_in_at IS NULL OR excluded.first_in_at < first_in_at)
                       THEN excluded.first_in_at ELSE first_in_at END,
    last_out_reader = CASE WHEN excluded.last_out_at IS NOT NULL AND (last_out_at IS NULL OR excluded.last_out_at > last_out_at)
                           THEN excluded.last_out_reader ELSE last_out_reader END,
    last_out_at = CASE WHEN excluded.last_out_at IS NOT NULL AND (last_out_at IS NULL OR excluded.last_out_at > last_out_at)
                       THEN excluded.last_out_at ELSE last_out_at END,
    taps_in = taps_in + excluded.taps_in,
    taps_out = taps_out + excluded.taps_out`;

export interface RegisterDeps {
  db: Database;
  clock: Clock;
  timezone: string;
  access: Pick<AccessConfig, 'scheduleGroups' | 'calendar'>;
}

export class AttendanceRegister {
  /** Prepared once: every granted gate tap runs it (preparing per tap cost ~10% of a core at 1,000 taps/s). */
  private upsert: Statement | undefined;
  /** The register's join, prepared once per shape of its filter (keyed by its SQL). */
  private readonly joined = new Map<string, Statement>();
  private absenteesQuery: Statement<[{ date: string; enrolledBefore: string; passed: string; listed: string; fallbackPassed: number }], Absentee> | undefined;
  private personQueries: { person: Statement<[string], PersonDayRow>; days: Statement<[number, string, string], DayRow>; excuses: Statement<[number, string, string], ExcuseRow> } | undefined;

  constructor(private readonly deps: RegisterDeps) {}

  /** The write a granted gate tap makes (run by the batch writer), or null when the tap says nothing about attendance. */
  writeFor(d: TapDecision): ((db: Database) => void) | null {
    if (!d.granted || d.accessPointKind !== 'gate' || !d.person || (d.direction !== 'in' && d.direction !== 'out')) return null;
    const inbound = d.direction === 'in';
    const row = {
      personId: d.person.id,
      date: localDate(d.at, this.deps.timezone),
      inAt: inbound ? d.at : null,
      inReader: inbound ? d.readerId : null,
      outAt: inbound ? null : d.at,
      // Only the side this tap passed: a first entry must not name its reader as the exit too.
      outReader: inbound ? null : d.readerId,
      tapsIn: inbound ? 1 : 0,
      tapsOut: inbound ? 0 : 1,
    };
    return (db) => {
      (this.upsert ??= db.prepare(UPSERT)).run(row);
    };
  }

  today(): string {
    return localDate(this.deps.clock.now(), this.deps.timezone);
  }

  excuse(externalId: string, date: string, reason: string, by: string): PersonDay {
    const person = this.personId(externalId);
    this.deps.db
      .prepare(
        `INSERT INTO attendance_excuses (person_id, date, reason, excused_by, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (person_id, date) DO UPDATE SET reason = excluded.reason, excused_by = excluded.excused_by, created_at = excluded.created_at`,
      )
      .run(person, date, reason, by, new Date(this.deps.clock.now()).toISOString());
    return this.person(externalId, date);
  }

  unexcuse(externalId: string, date: string): PersonDay {
    const info = this.deps.db.prepare('DELETE FROM attendance_excuses WHERE person_id = ? AND date = ?').run(this.personId(externalId), date);
    if (info.changes === 0) throw notFound(`excuse for ${externalId} on ${date}`);
    return this.person(externalId, date);
  }

  person(externalId: string, date: string): PersonDay {
    return this.personDays(externalId, [date]).days[0]!;
  }

  /**
   * One person's days, in the order of `dates`, from three queries however many days: Node-RED's late-arrival flow
   * asks for the week on every late arrival, and a join per day was a sixth of the gateway's CPU at a gate rush.
   */
  personDays(externalId: string, dates: readonly string[]): { personId: number; days: PersonDay[] } {
    const q = (this.personQueries ??= {
      person: this.deps.db.prepare<[string], PersonDayRow>(
        'SELECT id, external_id, name, role, grade, class, schedule_group, created_at FROM persons WHERE external_id = ?'),
      days: this.deps.db.prepare<[number, string, string], DayRow>(
        `SELECT date, first_in_at, first_in_reader, last_out_at, last_out_reader, taps_out FROM attendance_days
         WHERE person_id = ? AND date BETWEEN ? AND ?`),
      excuses: this.deps.db.prepare<[number, string, string], ExcuseRow>(
        'SELECT date, reason AS excuse_reason, excused_by FROM attendance_excuses WHERE person_id = ? AND date BETWEEN ? AND ?'),
    });
    const p = q.person.get(externalId);
    if (!p) throw notFound(`person ${externalId}`);
    const sorted = [...dates].sort();
    const from = sorted[0] ?? '';
    const to = sorted[sorted.length - 1] ?? '';
    const taps = new Map(q.days.all(p.id, from, to).map((d) => [d.date, d]));
    const excuses = new Map(q.excuses.all(p.id, from, to).map((e) => [e.date, e]));
    const days = dates.map((date) => {
      const d = taps.get(date);
      const e = excuses.get(date);
      // The person's columns one by one, not `...p`: a spread better-sqlite3 row got a new hidden class on every call.
      // With dayOf's Object.assign, a week (Node-RED's late-arrival flow reads one per late arrival) went 145 -> 34 us.
      const day = this.dayOf({
        id: p.id, external_id: p.external_id, name: p.name, role: p.role, grade: p.grade, class: p.class,
        schedule_group: p.schedule_group, created_at: p.created_at,
        first_in_at: d?.first_in_at ?? null, first_in_reader: d?.first_in_reader ?? null,
        last_out_at: d?.last_out_at ?? null, last_out_reader: d?.last_out_reader ?? null, taps_out: d?.taps_out ?? null,
        excuse_reason: e?.excuse_reason ?? null, excused_by: e?.excused_by ?? null,
      }, date);
      // Not on the roll yet that day: neither absent nor anything else.
      return day.firstIn === null && day.lastOut === null && p.created_at >= this.enrolledBefore(date) ? { ...day, status: null } : day;
    });
    return { personId: p.id, days };
  }

  /** A class or grade nobody on the roster has is a typo, not an empty class: 404, as for an unknown person. */
  requireKnown(field: 'class' | 'grade', value: string): void {
    if (!this.deps.db.prepare(`SELECT 1 FROM persons WHERE ${field} = ? LIMIT 1`).get(value)) throw notFound(`${field} ${value}`);
  }

  /** The internal id, for joining the access domain's taps. */
  personId(externalId: string): number {
    const row = this.deps.db.prepare('SELECT id FROM persons WHERE external_id = ?').get(externalId) as { id: number } | undefined;
    if (!row) throw notFound(`person ${externalId}`);
    return row.id;
  }

  /** Students by default; `role: 'all'` includes staff and visitors. */
  report(date: string, scope: Scope = {}): AttendanceReport {
    const people = this.rows(date, scope).map((r) => this.dayOf(r, date));
    return { ...this.aggregate(date, people), people };
  }

  /**
   * The students `report(date)` would call 'absent', in its order, without building everyone's day: the guardians'
   * absence check ran the whole report and kept the absent, ~0.65 KB of short-lived objects per student (100,000
   * students: 1.7-1.9 s and +65 MB of heap at each cut-off; this 70-95 ms and +2 MB). The rules are `statusOf`'s:
   * change both.
   */
  absentees(date: string): Absentee[] {
    if (!isSchoolDay(date, this.deps.access.calendar)) return [];
    const now = localTime(this.deps.clock.now(), this.deps.timezone);
    if (date > now.date) return [];
    const groups = this.deps.access.scheduleGroups;
    // On an earlier day every cut-off is behind us; today only those before the current second (inclusive cut-off).
    const past = (cutoff: string): boolean => date < now.date || now.secondOfDay > secondsOf(cutoff);
    const listed = [...new Set(groups.map((g) => g.id))];
    const rows = (this.absenteesQuery ??= this.deps.db.prepare(ABSENTEES)).all({
      date,
      enrolledBefore: this.enrolledBefore(date),
      passed: JSON.stringify(listed.filter((id) => past(arrivalCutoff(id, groups)))),
      listed: JSON.stringify(listed),
      fallbackPassed: past(fallbackArrivalCutoff(groups)) ? 1 : 0,
    });
    return rows.sort(bySchoolOrder);
  }

  /** For the city: counts of students by grade and class, without a single name or id. */
  summary(date: string): AttendanceSummary {
    return this.aggregate(date, this.rows(date, { role: 'student' }).map((r) => this.dayOf(r, date)));
  }

  /** People added to the roster from this instant on were not on it on `date`. */
  private enrolledBefore(date: string): string {
    return new Date(startOfLocalDay(nextDate(date), this.deps.timezone)).toISOString();
  }

  /** Everyone in scope who was on the roster that day. */
  private rows(date: string, scope: Scope): JoinedRow[] {
    // A roster imported today must not make the whole school absent on every earlier day.
    const where: string[] = ['p.created_at < ?'];
    const args: unknown[] = [date, date, this.enrolledBefore(date)];
    const role = scope.role ?? 'student';
    if (role !== 'all') {
      where.push('p.role = ?');
      args.push(role);
    }
    if (scope.grade !== undefined) {
      where.push('p.grade = ?');
      args.push(scope.grade);
    }
    if (scope.class !== undefined) {
      where.push('p.class = ?');
      args.push(scope.class);
    }
    const sql = `SELECT p.id, p.external_id, p.name, p.role, p.grade, p.class, p.schedule_group, p.created_at,
                d.first_in_at, d.first_in_reader, d.last_out_at, d.last_out_reader, d.taps_out,
                e.reason AS excuse_reason, e.excused_by
         FROM persons p
         LEFT JOIN attendance_days d ON d.person_id = p.id AND d.date = ?
         LEFT JOIN attendance_excuses e ON e.person_id = p.id AND e.date = ?
         WHERE ${where.join(' AND ')}
         ORDER BY p.name, p.external_id`;
    // Prepared once per shape of the filter (at most 8): the report and the city's summary ask again and again.
    let stmt = this.joined.get(sql);
    if (!stmt) this.joined.set(sql, (stmt = this.deps.db.prepare(sql)));
    return (stmt.all(...args) as JoinedRow[]).sort(bySchoolOrder);
  }

  private dayOf(r: JoinedRow, date: string): PersonDay {
    const tz = this.deps.timezone;
    const cutoff = arrivalCutoff(r.schedule_group, this.deps.access.scheduleGroups);
    const firstIn = r.first_in_at === null ? null : localTime(r.first_in_at, tz);
    const lastOut = r.last_out_at === null ? null : localTime(r.last_out_at, tz);
    // Object.assign, not `{...personFieldsOf(r), ...}`: on Node 20 that spread took ~7 us and ~4 KB a day, fifty times
    // this. A report makes one per student: 5,000 students' day went 91 -> 38 ms.
    return Object.assign(personFieldsOf(r), {
      status: this.statusOf(r, date, cutoff, firstIn?.secondOfDay ?? null),
      firstIn: r.first_in_at === null ? null : new Date(r.first_in_at).toISOString(),
      firstInLocal: firstIn?.time ?? null,
      firstInReader: r.first_in_reader,
      lastOut: r.last_out_at === null ? null : new Date(r.last_out_at).toISOString(),
      lastOutLocal: lastOut?.time ?? null,
      lastOutReader: r.last_out_reader,
      arrivalCutoff: cutoff,
      excuse: r.excuse_reason === null ? null : { reason: r.excuse_reason, by: r.excused_by ?? '' },
    });
  }

  /**
   * Arrived by the cut-off (inclusive, to the second): present. Otherwise an excuse wins (a dentist's morning
   * is not "late"). Arrived after it: late. Only a gate exit recorded (tailgated in): present, arrival
   * unknown. Nothing, on a school day: absent once the cut-off has passed, expected before. Tapping in counts
   * on any day; only school days can make someone absent. `absentees` (ABSENTEES) is the road to 'absent' in SQL:
   * a change here is a change there (test/attendance/absentees.test.ts compares the two).
   */
  private statusOf(r: JoinedRow, date: string, cutoff: string, arrivedAtSecond: number | null): AttendanceStatus | null {
    const late = arrivedAtSecond !== null && arrivedAtSecond > secondsOf(cutoff);
    if (arrivedAtSecond !== null && !late) return 'present';
    if (r.excuse_reason !== null) return 'excused';
    if (late) return 'late';
    if ((r.taps_out ?? 0) > 0) return 'present';
    if (!isSchoolDay(date, this.deps.access.calendar)) return null;
    const now = localTime(this.deps.clock.now(), this.deps.timezone);
    if (date > now.date || (date === now.date && now.secondOfDay <= secondsOf(cutoff))) return 'expected';
    return 'absent';
  }

  private aggregate(date: string, people: PersonDay[]): AttendanceSummary {
    const zero = (): Counts => ({ enrolled: 0, present: 0, late: 0, absent: 0, excused: 0, expected: 0 });
    const totals = zero();
    const grades = new Map<string, GradeCounts>();
    const classes = new Map<string, ClassCounts>();
    const add = (c: Counts, p: PersonDay): void => {
      c.enrolled++;
      if (p.status) c[p.status]++;
    };
    for (const p of people) {
      const gKey = p.grade ?? '\u0000';
      let g = grades.get(gKey);
      if (!g) grades.set(gKey, (g = { grade: p.grade, ...zero(), classes: [] }));
      const cKey = `${gKey}\u0001${p.class ?? '\u0000'}`;
      let c = classes.get(cKey);
      if (!c) {
        c = { class: p.class, ...zero() };
        classes.set(cKey, c);
        g.classes.push(c);
      }
      add(totals, p);
      add(g, p);
      add(c, p);
    }
    const kind = dayKind(date, this.deps.access.calendar);
    return { date, schoolDay: isSchoolDay(date, this.deps.access.calendar), dayKind: kind, totals, grades: [...grades.values()] };
  }
}

/** A stable sort over the name order: grades and classes in school order (初一 < 初二 < 初三), which SQL cannot. */
function bySchoolOrder(a: { grade: string | null; class: string | null }, b: { grade: string | null; class: string | null }): number {
  return compareSchoolNames(a.grade, b.grade) || compareSchoolNames(a.class, b.class);
}

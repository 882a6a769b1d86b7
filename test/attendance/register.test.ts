import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TapDecision } from '../../gateway/access/contract.js';
import type { PersonRef } from '../../gateway/people/types.js';
import { AttendanceRegister } from '../../gateway/attendance/module.js';
import type { AttendanceCounts as Counts } from '../../gateway/core/attendance-counts.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { compareSchoolNames } from '../../gateway/core/school-order.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** Epoch ms of a Shanghai (UTC+8) wall-clock time. */
const sh = (date: string, time: string): number => Date.parse(`${date}T${time}+08:00`);

const TUE = '2026-09-01';
const SAT = '2026-09-05';
const MAKE_UP_SUN = '2026-09-27';
const HOLIDAY_THU = '2026-10-01';

const clock = new ManualClock(sh(TUE, '06:00:00'));
let gw: TestGateway;
let admin: string;
let viewer: string;
const people = new Map<string, PersonRef>();

function addPerson(externalId: string, role: PersonRef['role'], grade: string | null, cls: string | null, group: string): void {
  const now = new Date(clock.now()).toISOString();
  const id = Number(
    gw.ctx.db
      .prepare(
        `INSERT INTO persons (external_id, name, role, grade, class, schedule_group, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(externalId, `名${externalId}`, role, grade, cls, group, now, now).lastInsertRowid,
  );
  people.set(externalId, { id, externalId, name: `名${externalId}`, role, grade, class: cls, scheduleGroup: group });
}

const PASSWORD = 'attendance-test-pw';

/** Moves the school's clock; sessions expire on that clock too, so sign in again. */
async function setClock(t: number): Promise<void> {
  clock.set(t);
  admin = await gw.login('admin', PASSWORD);
  viewer = await gw.login('viewer', PASSWORD);
}

let seq = 0;
let register: AttendanceRegister;
/** A decided tap as the access engine stores it: the register's row is written through the gateway's batch writer. */
async function decided(externalId: string, at: number, over: Partial<TapDecision> = {}): Promise<void> {
  seq++;
  const op = register.writeFor({
    readerId: 'gate-in-1',
    uid: `CARD${seq}`,
    at,
    tapId: `tap-${seq}`,
    accessPointId: 'main-gate',
    accessPointKind: 'gate',
    direction: 'in',
    gateId: 'main-gate',
    granted: true,
    reason: 'ok',
    person: people.get(externalId)!,
    ...over,
  });
  if (op) await gw.ctx.writer.write(op);
}

async function get<T>(path: string, token = admin): Promise<T> {
  const res = await gw.api(path, { token });
  expect(res.status, `${path}: ${res.status}`).toBe(200);
  return (await res.json()) as T;
}

interface PersonDay {
  externalId: string;
  name: string;
  status: string | null;
  firstIn: string | null;
  firstInLocal: string | null;
  lastOutLocal: string | null;
}
interface Report {
  date: string;
  schoolDay: boolean;
  dayKind: string;
  totals: Counts;
  grades: (Counts & { grade: string; classes: (Counts & { class: string })[] })[];
  people: PersonDay[];
}

const statusOf = (r: Report): Record<string, string | null> => Object.fromEntries(r.people.map((p) => [p.externalId, p.status]));

/** Tuesday's taps: A1 and A2 on time, A3 late, B1 only taps that are not attendance; A1 leaves at 16:30 and 17:10. */
async function tuesdayTaps(): Promise<void> {
  await decided('A1', sh(TUE, '07:49:59'));
  await decided('A2', sh(TUE, '07:50:00')); // exactly at the cut-off still counts as on time
  await decided('A3', sh(TUE, '07:30:01')); // boarders' cut-off is 07:30
  await decided('A1', sh(TUE, '07:55:00')); // a second entry does not move the first
  await decided('A1', sh(TUE, '16:30:00'), { direction: 'out', readerId: 'gate-out-1' });
  await decided('A1', sh(TUE, '17:10:00'), { direction: 'out', readerId: 'gate-out-1' });
  // Not attendance: a denied gate tap, a granted classroom door, a gate tap without a direction.
  await decided('B1', sh(TUE, '07:00:00'), { granted: false, reason: 'card_lost' });
  await decided('B1', sh(TUE, '07:01:00'), { accessPointKind: 'door', accessPointId: 'lab-1' });
  await decided('B1', sh(TUE, '07:02:00'), { direction: undefined });
}

describe('attendance register', () => {
  // A fresh register per test, at 06:00 on Tuesday: each test makes the taps and moves the clock it needs, in any order.
  beforeEach(async () => {
    clock.set(sh(TUE, '06:00:00'));
    people.clear();
    seq = 0;
    gw = await startTestGateway({
      clock,
      demo: false,
      users: [
        { username: 'admin', password: PASSWORD, role: 'admin' },
        { username: 'security', password: PASSWORD, role: 'security' },
        { username: 'viewer', password: PASSWORD, role: 'viewer' },
      ],
      config: {
        http: { loginRateLimit: { max: 1000 } },
        access: {
          scheduleGroups: [
            { id: 'day', arrivalCutoff: '07:50' },
            { id: 'boarding', arrivalCutoff: '07:30' },
          ],
          calendar: { holidays: [HOLIDAY_THU], makeUpDays: [MAKE_UP_SUN] },
        },
      },
    });
    await setClock(clock.now());
    register = new AttendanceRegister({ db: gw.ctx.db, clock, timezone: gw.config.school.timezone, access: gw.config.access });
    addPerson('A1', 'student', '初一', '初一(1)班', 'day');
    addPerson('A2', 'student', '初一', '初一(1)班', 'day');
    addPerson('A3', 'student', '初一', '初一(2)班', 'boarding');
    addPerson('B1', 'student', '初二', '初二(1)班', 'no-such-group'); // falls back to 08:00
    addPerson('T1', 'staff', null, null, 'staff');
  });
  afterEach(async () => {
    await gw?.close();
  });

  it('marks present up to the cut-off, late after it, absent only once the cut-off has passed', async () => {
    await tuesdayTaps();

    await setClock(sh(TUE, '07:59:00'));
    const early = await get<Report>(`/api/v1/attendance?date=${TUE}`);
    expect(statusOf(early)).toEqual({ A1: 'present', A2: 'present', A3: 'late', B1: 'expected' });
    const a1 = early.people.find((p) => p.externalId === 'A1')!;
    expect(a1).toMatchObject({ name: '名A1', firstInLocal: '07:49:59', lastOutLocal: '17:10:00', firstIn: '2026-08-31T23:49:59.000Z' });

    await setClock(sh(TUE, '08:00:01'));
    const later = await get<Report>(`/api/v1/attendance?date=${TUE}`);
    expect(statusOf(later).B1).toBe('absent');
    expect(later).toMatchObject({ schoolDay: true, dayKind: 'school_day' });
    expect(later.totals).toEqual({ enrolled: 4, present: 2, late: 1, absent: 1, excused: 0, expected: 0 });
    expect(later.grades).toEqual([
      {
        grade: '初一',
        enrolled: 3, present: 2, late: 1, absent: 0, excused: 0, expected: 0,
        classes: [
          { class: '初一(1)班', enrolled: 2, present: 2, late: 0, absent: 0, excused: 0, expected: 0 },
          { class: '初一(2)班', enrolled: 1, present: 0, late: 1, absent: 0, excused: 0, expected: 0 },
        ],
      },
      {
        grade: '初二',
        enrolled: 1, present: 0, late: 0, absent: 1, excused: 0, expected: 0,
        classes: [{ class: '初二(1)班', enrolled: 1, present: 0, late: 0, absent: 1, excused: 0, expected: 0 }],
      },
    ]);
    const absentOnly = await get<Report>(`/api/v1/attendance?date=${TUE}&status=absent`);
    expect(absentOnly.people.map((p) => p.externalId)).toEqual(['B1']);
  });

  it('answers per class, per grade and per person', async () => {
    await tuesdayTaps();
    await setClock(sh(TUE, '08:00:01'));
    const cls = await get<Report>(`/api/v1/attendance/classes/${encodeURIComponent('初一(1)班')}?date=${TUE}`);
    expect(cls.people.map((p) => p.externalId)).toEqual(['A1', 'A2']);
    expect(cls.totals).toMatchObject({ enrolled: 2, present: 2 });
    const grade = await get<Report>(`/api/v1/attendance/grades/${encodeURIComponent('初一')}?date=${TUE}`);
    expect(grade.totals).toMatchObject({ enrolled: 3, present: 2, late: 1 });
    const one = await get<PersonDay & { taps: unknown[]; arrivalCutoff: string; firstInReader: string; lastOutReader: string }>(
      `/api/v1/attendance/people/A1?date=${TUE}`,
      viewer,
    );
    expect(one).toMatchObject({
      status: 'present',
      arrivalCutoff: '07:50',
      firstInLocal: '07:49:59',
      firstInReader: 'gate-in-1',
      lastOutLocal: '17:10:00',
      lastOutReader: 'gate-out-1',
    });
    expect(Array.isArray(one.taps)).toBe(true);
    const staff = await get<PersonDay & { arrivalCutoff: string }>(`/api/v1/attendance/people/T1?date=${TUE}`);
    expect(staff).toMatchObject({ status: 'absent', arrivalCutoff: '08:00' });
    expect((await gw.api('/api/v1/attendance/people/NOBODY', { token: admin })).status).toBe(404);
    // A typo in a class or grade is not an empty class.
    expect((await gw.api(`/api/v1/attendance/classes/${encodeURIComponent('初一(9)班')}?date=${TUE}`, { token: admin })).status).toBe(404);
    expect((await gw.api(`/api/v1/attendance/grades/${encodeURIComponent('高三')}?date=${TUE}`, { token: admin })).status).toBe(404);
  });

  it('excuses an absence (admin and security only) and can withdraw the excuse', async () => {
    await tuesdayTaps();
    await setClock(sh(TUE, '08:00:01'));
    const body = { externalId: 'B1', date: TUE, reason: '病假 sick leave' };
    expect((await gw.api('/api/v1/attendance/excuse', { method: 'POST', token: viewer, json: body })).status).toBe(403);
    const security = await gw.login('security', PASSWORD);
    const res = await gw.api('/api/v1/attendance/excuse', { method: 'POST', token: security, json: body });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ externalId: 'B1', status: 'excused', excuse: { reason: '病假 sick leave', by: 'security' } });
    // A late arrival with an excuse is excused; an on-time one stays present.
    await gw.api('/api/v1/attendance/excuse', { method: 'POST', token: admin, json: { externalId: 'A3', date: TUE, reason: 'dentist' } });
    await gw.api('/api/v1/attendance/excuse', { method: 'POST', token: admin, json: { externalId: 'A1', date: TUE, reason: 'x' } });
    const r = await get<Report>(`/api/v1/attendance?date=${TUE}`);
    expect(statusOf(r)).toEqual({ A1: 'present', A2: 'present', A3: 'excused', B1: 'excused' });
    expect(r.totals).toMatchObject({ present: 2, late: 0, absent: 0, excused: 2 });
    const del = await gw.api(`/api/v1/attendance/excuse/A3/${TUE}`, { method: 'DELETE', token: admin });
    expect(await del.json()).toMatchObject({ status: 'late', excuse: null });
    const bad = await gw.api('/api/v1/attendance/excuse', { method: 'POST', token: admin, json: { externalId: 'B1', date: '2026-13-01', reason: 'x' } });
    expect(bad.status).toBe(400);
  });

  it('counts arrivals on any day but absences only on school days', async () => {
    await setClock(sh(SAT, '12:00:00'));
    await decided('A2', sh(SAT, '09:00:00')); // weekend club: after the cut-off, so late, though nobody is absent
    const sat = await get<Report>(`/api/v1/attendance?date=${SAT}`);
    expect(sat).toMatchObject({ schoolDay: false, dayKind: 'weekend' });
    expect(statusOf(sat)).toEqual({ A1: null, A2: 'late', A3: null, B1: null });
    expect(sat.totals).toEqual({ enrolled: 4, present: 0, late: 1, absent: 0, excused: 0, expected: 0 });

    await setClock(sh(HOLIDAY_THU, '12:00:00'));
    const holiday = await get<Report>(`/api/v1/attendance?date=${HOLIDAY_THU}`);
    expect(holiday).toMatchObject({ schoolDay: false, dayKind: 'holiday' });
    expect(holiday.totals.absent).toBe(0);

    // A make-up Sunday (调休) is a school day: no tap means absent. A future school day is only expected.
    const makeUp = await get<Report>(`/api/v1/attendance?date=${MAKE_UP_SUN}`);
    expect(makeUp).toMatchObject({ schoolDay: true, dayKind: 'make_up_day' });
    expect(makeUp.totals).toMatchObject({ enrolled: 4, absent: 4 });
    const future = await get<Report>('/api/v1/attendance?date=2026-10-09');
    expect(future.totals).toMatchObject({ absent: 0, expected: 4 });
  });

  it('counts by the school-local date, not UTC', async () => {
    await setClock(sh('2026-09-02', '12:00:00')); // Wednesday noon: Tuesday is over
    // 00:30 on Wednesday in Shanghai is still Tuesday in UTC.
    await decided('T1', sh('2026-09-02', '00:30:00'));
    const wed = await get<Report>('/api/v1/attendance?date=2026-09-02&role=staff');
    expect(wed.people[0]).toMatchObject({ externalId: 'T1', firstInLocal: '00:30:00', status: 'present' });
    const tue = await get<Report>(`/api/v1/attendance?date=${TUE}&role=staff`);
    expect(tue.people[0]!.status).toBe('absent');
  });

  it('gives the city counts by grade and class without names or ids', async () => {
    await tuesdayTaps();
    await setClock(sh(TUE, '08:00:01'));
    const res = await get<Report>(`/api/v1/attendance?date=${TUE}`);
    // What AttendanceModule.summary() answers cloud sync: the same register over the gateway's database.
    const summary = register.summary(TUE);
    expect(summary.totals).toEqual(res.totals);
    expect(summary.grades).toEqual(res.grades);
    const text = JSON.stringify(summary);
    for (const p of people.values()) {
      expect(text).not.toContain(p.externalId);
      expect(text).not.toContain(p.name);
    }
    expect(summary).not.toHaveProperty('people');
  });

  it('gives one person\'s week day by day as the daily report has it: present, late, excused, absent, not yet enrolled', async () => {
    const MON = '2026-08-31';
    clock.set(sh(MON, '06:00:00'));
    addPerson('W1', 'student', '初一', '初一(1)班', 'day'); // enrolled on Monday
    await decided('W1', sh(TUE, '07:40:00'));
    await decided('W1', sh(TUE, '16:30:00'), { direction: 'out' });
    await decided('W1', sh('2026-09-02', '08:10:00')); // Wednesday: late
    await decided('W1', sh('2026-09-03', '09:00:00')); // Thursday: late, but excused below
    await setClock(sh('2026-09-04', '12:00:00')); // Friday noon: no tap, so absent
    await gw.api('/api/v1/attendance/excuse', { method: 'POST', token: admin, json: { externalId: 'W1', date: '2026-09-03', reason: 'dentist' } });
    const week = ['2026-08-30', MON, TUE, '2026-09-02', '2026-09-03', '2026-09-04'];
    const { personId, days } = register.personDays('W1', week);
    expect(personId).toBe(people.get('W1')!.id);
    expect(days.map((d) => d.status)).toEqual([null, 'absent', 'present', 'late', 'excused', 'absent']);
    expect(days[2]).toMatchObject({ firstInLocal: '07:40:00', lastOutLocal: '16:30:00' });
    // The same, date by date, as the school's daily report (its own query) has it from the day W1 was on the roll.
    for (const [i, date] of week.entries()) {
      const inReport = (await get<Report>(`/api/v1/attendance?date=${date}`)).people.find((p) => p.externalId === 'W1');
      if (i === 0) expect(inReport).toBeUndefined();
      else expect(days[i]).toEqual(inReport);
    }
    expect(() => register.personDays('nobody', week)).toThrow(/nobody/);
  });

  it('does not count someone added to the roster later as absent on the days before', async () => {
    await tuesdayTaps();
    await setClock(sh('2026-09-02', '12:00:00')); // Tuesday is over
    const before = await get<Report>(`/api/v1/attendance?date=${TUE}`);
    await setClock(sh('2026-10-12', '09:00:00')); // a Monday, past the cut-off
    addPerson('N1', 'student', '初一', '初一(1)班', 'day');
    const again = await get<Report>(`/api/v1/attendance?date=${TUE}`);
    expect(again.people.map((p) => p.externalId)).not.toContain('N1');
    expect(again.totals).toEqual(before.totals);
    expect((await get<PersonDay>(`/api/v1/attendance/people/N1?date=${TUE}`)).status).toBeNull();
    // From the day they were added on, they count.
    expect((await get<PersonDay>('/api/v1/attendance/people/N1?date=2026-10-12')).status).toBe('absent');
    expect((await get<Report>('/api/v1/attendance?date=2026-10-12')).people.map((p) => p.externalId)).toContain('N1');
  });
});

describe('school order of grades and classes', () => {
  it('orders 初一 < 初二 < 初三 and (2)班 < (10)班, missing names last', () => {
    const grades = ['初三', null, '初一', '初二'].sort(compareSchoolNames);
    expect(grades).toEqual(['初一', '初二', '初三', null]);
    expect(['初一(10)班', '初一(2)班'].sort(compareSchoolNames)).toEqual(['初一(2)班', '初一(10)班']);
    expect(['Grade 10', 'Grade 7'].sort(compareSchoolNames)).toEqual(['Grade 7', 'Grade 10']);
  });
});

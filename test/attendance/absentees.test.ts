import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessConfig } from '../../config/access.js';
import type { TapDecision } from '../../gateway/access/contract.js';
import { AttendanceRegister } from '../../gateway/attendance/module.js';
import { attendanceMigrations } from '../../gateway/attendance/schema.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { peopleMigrations } from '../../gateway/people/store.js';
import type { PersonRef } from '../../gateway/people/types.js';
import { openDatabase, type Database } from '../../gateway/storage/db.js';
import { tempDir } from '../helpers/gateway.js';

/** Epoch ms of a Shanghai (UTC+8) wall-clock time. */
const sh = (date: string, time: string): number => Date.parse(`${date}T${time}+08:00`);
const iso = (t: number): string => new Date(t).toISOString();

const OUT_OF_TERM_MON = '2026-08-31';
const TUE = '2026-09-01';
const WED = '2026-09-02';
const SAT = '2026-09-05';
const MAKE_UP_SUN = '2026-09-27';
const HOLIDAY_THU = '2026-10-01';
const DATES = [OUT_OF_TERM_MON, TUE, WED, SAT, MAKE_UP_SUN, HOLIDAY_THU];

const calendar = { holidays: [HOLIDAY_THU], makeUpDays: [MAKE_UP_SUN], terms: [] };
/**
 * With a `default` group (the fallback for unlisted groups is its 08:10), without one (08:00), and with term dates.
 * `seniors` starts after the fallback: a listed group is held to its own cut-off, not the fallback's.
 */
const CONFIGS: Record<string, Pick<AccessConfig, 'scheduleGroups' | 'calendar'>> = {
  withDefault: {
    scheduleGroups: [{ id: 'day', arrivalCutoff: '07:50' }, { id: 'boarding', arrivalCutoff: '07:30' }, { id: 'seniors', arrivalCutoff: '09:00' }, { id: 'default', arrivalCutoff: '08:10' }],
    calendar,
  },
  noDefault: { scheduleGroups: [{ id: 'day', arrivalCutoff: '07:50' }, { id: 'boarding', arrivalCutoff: '07:30' }, { id: 'seniors', arrivalCutoff: '09:00' }], calendar },
  terms: {
    scheduleGroups: [{ id: 'day', arrivalCutoff: '07:50' }, { id: 'boarding', arrivalCutoff: '07:30' }, { id: 'seniors', arrivalCutoff: '09:00' }],
    calendar: { ...calendar, terms: [{ from: TUE, to: '2027-01-20' }] },
  },
};

/** Each cut-off, a second before and after it, and other days' clocks: earlier days are past, later ones future. */
const NOW = [
  sh(OUT_OF_TERM_MON, '12:00:00'),
  ...['06:00:00', '07:30:00', '07:30:01', '07:50:00', '07:50:01', '08:00:00', '08:00:01', '08:10:00', '08:10:01', '08:30:00', '09:00:00', '09:00:01', '15:00:00'].map((t) => sh(TUE, t)),
  sh(WED, '07:45:00'),
  sh(WED, '09:00:00'),
  sh(SAT, '09:00:00'),
  sh(MAKE_UP_SUN, '09:00:00'),
  sh(HOLIDAY_THU, '09:00:00'),
  sh('2026-10-09', '09:00:00'),
];

let db: Database;
const clock = new ManualClock(sh(OUT_OF_TERM_MON, '12:00:00'));
const people = new Map<string, PersonRef>();

function addPerson(externalId: string, name: string, role: PersonRef['role'], grade: string | null, cls: string | null, group: string, createdAt = iso(sh('2026-08-20', '09:00:00'))): void {
  const id = Number(
    db.prepare(`INSERT INTO persons (external_id, name, role, grade, class, schedule_group, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(externalId, name, role, grade, cls, group, createdAt, createdAt).lastInsertRowid,
  );
  people.set(externalId, { id, externalId, name, role, grade, class: cls, scheduleGroup: group });
}

let seq = 0;
/** A decided tap, written through the register's own write (what the tap's transaction runs), or not when it says nothing. */
function tap(register: AttendanceRegister, externalId: string, at: number, over: Partial<TapDecision> = {}): void {
  seq++;
  const op = register.writeFor({
    readerId: 'gate-in-1', uid: `CARD${seq}`, at, tapId: `tap-${seq}`, accessPointId: 'main-gate', accessPointKind: 'gate',
    direction: 'in', gateId: 'main-gate', granted: true, reason: 'ok', person: people.get(externalId)!, ...over,
  });
  op?.(db);
}

const registerFor = (access: Pick<AccessConfig, 'scheduleGroups' | 'calendar'>): AttendanceRegister =>
  new AttendanceRegister({ db, clock, timezone: 'Asia/Shanghai', access });

/** What the guardians' absence check used to do: the whole register, then its 'absent'. */
const fromReport = (register: AttendanceRegister, date: string) =>
  register.report(date, { role: 'student' }).people.flatMap((p) =>
    p.status === 'absent' ? [{ personId: people.get(p.externalId)!.id, externalId: p.externalId, name: p.name, grade: p.grade, class: p.class, scheduleGroup: p.scheduleGroup }] : []);

describe('the register\'s absentees', () => {
  beforeAll(() => {
    db = openDatabase(join(tempDir('campus-absentees-'), 'gateway.db'), [...peopleMigrations, ...attendanceMigrations]);
    const out = { direction: 'out' as const, readerId: 'gate-out-1' };
    addPerson('S01', '赵一', 'student', '初一', '初一(1)班', 'day'); // on time
    addPerson('S02', '钱二', 'student', '初一', '初一(1)班', 'day'); // exactly at the cut-off
    addPerson('S03', '孙三', 'student', '初一', '初一(2)班', 'day'); // late
    addPerson('S04', '李四', 'student', '初一', '初一(2)班', 'day'); // late and excused
    addPerson('S05', '周五', 'student', '初二', '初二(1)班', 'day'); // excused, no tap
    addPerson('S06', '吴六', 'student', '初二', '初二(1)班', 'day'); // only an exit (tailgated in)
    addPerson('S07', '郑七', 'student', '初二', '初二(2)班', 'day'); // taps the day before and the day after only
    addPerson('S08', '王八', 'student', '初三', '初三(1)班', 'boarding'); // nothing
    addPerson('S09', '冯九', 'student', '初三', '初三(1)班', 'boarding'); // on time for boarders
    addPerson('S10', '陈十', 'student', '初三', '初三(1)班', 'ghost'); // a group the config does not list: the fallback
    addPerson('S11', '褚十一', 'student', '初一', '初一(1)班', 'default'); // the default group
    addPerson('S12', '卫十二', 'student', '初一', '初一(1)班', 'day', iso(sh(TUE, '10:00:00'))); // imported during Tuesday: on its roll
    addPerson('S13', '蒋十三', 'student', '初一', '初一(1)班', 'day', iso(sh(WED, '00:00:00'))); // at Wednesday's first instant: not on Tuesday's
    addPerson('S14', '沈十四', 'student', '初一', '初一(1)班', 'day', iso(sh(WED, '00:00:00') - 1)); // Tuesday's last instant
    addPerson('S15', '韩十五', 'student', '初二', '初二(2)班', 'day'); // denied at the gate
    addPerson('S16', '杨十六', 'student', '初二', '初二(2)班', 'day'); // a classroom door and a gate tap without a direction
    addPerson('S17', '朱十七', 'student', null, null, 'day'); // no grade or class; a register row with nothing in it
    addPerson('S18', '秦十八', 'student', '初二', '初二(1)班', 'boarding'); // excused on Wednesday only
    addPerson('S19', '王八', 'student', '初三', '初三(1)班', 'day'); // S08's name, another group: the order's tie-break
    addPerson('S20', '尤二十', 'student', '初一', '初一(2)班', 'day'); // taps on the weekend and the holiday only
    addPerson('S21', '吕二一', 'student', '高一', '高一(1)班', 'seniors'); // nothing
    addPerson('S22', '施二二', 'student', '高一', '高一(1)班', 'seniors'); // on time at 08:55 for seniors
    addPerson('T1', '许老师', 'staff', null, null, 'staff'); // not a student
    addPerson('V1', '何访客', 'visitor', null, null, 'default');

    const r = registerFor(CONFIGS.withDefault!);
    tap(r, 'S01', sh(TUE, '07:49:59'));
    tap(r, 'S01', sh(TUE, '16:30:00'), out);
    tap(r, 'S02', sh(TUE, '07:50:00'));
    tap(r, 'S03', sh(TUE, '08:20:00'));
    tap(r, 'S04', sh(TUE, '08:40:00'));
    r.excuse('S04', TUE, 'dentist', 'admin');
    r.excuse('S05', TUE, 'ill', 'admin');
    tap(r, 'S06', sh(TUE, '16:00:00'), out);
    tap(r, 'S07', sh(TUE, '00:00:00') - 1000); // 23:59:59 on Monday
    tap(r, 'S07', sh(WED, '00:00:00')); // 00:00:00 on Wednesday
    tap(r, 'S09', sh(TUE, '07:29:00'));
    tap(r, 'S09', sh(WED, '07:31:00'));
    tap(r, 'S15', sh(TUE, '07:40:00'), { granted: false, reason: 'card_lost' });
    tap(r, 'S16', sh(TUE, '07:41:00'), { accessPointKind: 'door', accessPointId: 'lab-1' });
    tap(r, 'S16', sh(TUE, '07:42:00'), { direction: undefined });
    db.prepare(`INSERT INTO attendance_days (person_id, date, taps_in, taps_out) VALUES (?, ?, 0, 0)`).run(people.get('S17')!.id, TUE);
    r.excuse('S18', WED, 'ill', 'admin');
    tap(r, 'S22', sh(TUE, '08:55:00'));
    tap(r, 'S20', sh(SAT, '09:00:00'));
    tap(r, 'S20', sh(HOLIDAY_THU, '09:00:00'));
    tap(r, 'S01', sh(MAKE_UP_SUN, '07:00:00'));
    tap(r, 'S06', sh(MAKE_UP_SUN, '07:00:00'), out);
  });
  afterAll(() => db?.close());

  it('names the students the register calls absent on Tuesday afternoon, in its order', () => {
    clock.set(sh(TUE, '15:00:00'));
    expect(registerFor(CONFIGS.withDefault!).absentees(TUE).map((p) => p.externalId)).toEqual(
      // 初一 before 初二 before 初三 before 高一 before no grade; by name within a class, then by external id (S08 and S19).
      ['S12', 'S14', 'S11', 'S20', 'S18', 'S16', 'S07', 'S15', 'S08', 'S19', 'S10', 'S21', 'S17'],
    );
  });

  it('is the register\'s absent, for every date, clock and configuration', () => {
    const seen = new Set<string | null>();
    const sizes = new Set<number>();
    for (const [name, access] of Object.entries(CONFIGS)) {
      const register = registerFor(access);
      for (const now of NOW) {
        clock.set(now);
        for (const date of DATES) {
          for (const p of register.report(date, { role: 'student' }).people) seen.add(p.status);
          const expected = fromReport(register, date);
          sizes.add(expected.length);
          expect(register.absentees(date), `${name}, ${date} at ${iso(now)}`).toEqual(expected);
        }
      }
    }
    // Not vacuous: every status the register has came up, and the absent lists were of many lengths.
    expect([...seen].sort()).toEqual(['absent', 'excused', 'expected', 'late', 'present', null].sort());
    expect(sizes.size).toBeGreaterThanOrEqual(5);
  });
});

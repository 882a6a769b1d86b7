/** What goes into a controller's card list: doors from access-point schedules as time profiles, dates, lockdown. */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { antiPassbackPlan, cardNumberOf, controllerScheduleNotes, planDevice, uidKeyOf, type PlannedHolder } from '../../drivers/controllers/uhppote/plan.js';

const config = validateConfig(
  {
    access: {
      accessPoints: [
        { id: 'gate', name: 'Gate', kind: 'gate' },
        { id: 'lab', name: 'Lab', kind: 'door', schedule: { student: [{ days: [1, 2, 3, 4, 5], from: '08:00', to: '17:00' }] } },
        {
          id: 'dorm',
          name: 'Dorm',
          kind: 'door',
          schedule: { student: [] },
          groupSchedule: {
            boarding: [
              { days: [1, 2, 3, 4, 5], from: '06:00', to: '07:30' },
              { days: [1, 2, 3, 4, 5], from: '12:00', to: '13:00' },
              { days: [1, 2, 3, 4, 5], from: '17:00', to: '22:00' },
              { days: [1, 2, 3, 4, 5], from: '22:30', to: '23:00' },
              { days: [6, 7], from: '21:00', to: '06:00' },
            ],
          },
        },
      ],
      scheduleGroups: [{ id: 'day' }, { id: 'boarding' }],
    },
    controllers: {
      devices: [{ id: 'c', serial: 1, address: '10.0.0.2', doors: { '1': { accessPoint: 'gate' }, '2': { accessPoint: 'lab' }, '3': { accessPoint: 'dorm' } } }],
    },
  },
  'test',
);
const aps = new Map(config.access.accessPoints.map((a) => [a.id, a]));
const device = config.controllers.devices[0]!;
const holder = (uid: string, extra: Partial<PlannedHolder> = {}): PlannedHolder => ({
  uid, status: 'active', role: 'student', scheduleGroup: 'day', security: false, validFrom: null, validTo: null, ...extra,
});

describe('controller card plan', () => {
  it('gives the gate at any time, the lab through a weekday profile, and the dorm only to boarders, through chained profiles', () => {
    const plan = planDevice(device, aps, [holder('0A1B2C3D'), holder('11223344', { scheduleGroup: 'boarding', validFrom: '2026-09-01', validTo: '2027-07-15' })], false);
    const day = plan.cards.get(cardNumberOf('0A1B2C3D', 'wg26')!)!;
    const boarder = plan.cards.get(cardNumberOf('11223344', 'wg26')!)!;
    const lab = plan.profiles.find((p) => p.profile === day.doors[1])!;
    expect(day.doors[0]).toBe(1);
    expect(day.doors[2]).toBe(0); // day students have no dorm windows at all
    expect(lab).toMatchObject({ weekdays: [true, true, true, true, true, false, false], segments: [{ start: '08:00', end: '17:00' }, { start: '00:00', end: '00:00' }, { start: '00:00', end: '00:00' }], linked: 0 });
    expect(boarder.doors[1]).toBe(day.doors[1]); // same windows, same profile
    expect([boarder.from, boarder.to]).toEqual(['2026-09-01', '2027-07-15']);
    // 4 weekday windows: 3 in the first profile, 1 in a linked one; the weekend window over midnight splits in two.
    const first = plan.profiles.find((p) => p.profile === boarder.doors[2])!;
    expect(first.segments.map((s) => s.start)).toEqual(['06:00', '12:00', '17:00']);
    const second = plan.profiles.find((p) => p.profile === first.linked)!;
    expect(second.segments[0]).toEqual({ start: '22:30', end: '23:00' });
    const weekend = plan.profiles.find((p) => p.profile === second.linked)!;
    expect(weekend.weekdays).toEqual([false, false, false, false, false, true, true]);
    expect(weekend.segments.slice(0, 2)).toEqual([{ start: '21:00', end: '23:59' }, { start: '00:00', end: '06:00' }]);
  });

  it('during a lockdown keeps only security staff, and reads card numbers back to UID keys', () => {
    const plan = planDevice(device, aps, [holder('0A1B2C3D'), holder('55667788', { role: 'staff', security: true })], true);
    expect([...plan.cards.keys()]).toEqual([cardNumberOf('55667788', 'wg26')]);
    expect(uidKeyOf(cardNumberOf('0A1B2C3D', 'wg26')!, 'wg26')).toBe('1B2C3D');
    expect(uidKeyOf(cardNumberOf('0A1B2C3D', '8h10d')!, '8h10d')).toBe('0A1B2C3D');
    expect(uidKeyOf(cardNumberOf('0A1B2C3D', 'reversed')!, 'reversed')).toBe('0A1B2C3D');
    expect(cardNumberOf('0A1B2C3D', 'reversed')).toBe(0x3d2c1b0a);
  });

  it('leaves out a number a refused card shares (a found lost card would open the door) and a number two people share', () => {
    // wg26 keeps the low 3 bytes: 16.7 million numbers, so a school of 5,000 cards expects a shared one.
    const lost = holder('0BADCAFE', { status: 'lost' });
    const twin = holder('77ADCAFE');
    const first = holder('01020304');
    const second = holder('FF020304', { scheduleGroup: 'boarding' });
    const plan = planDevice(device, aps, [lost, twin, first, second, holder('0A1B2C3D')], false);
    expect([...plan.cards.keys()].sort()).toEqual([cardNumberOf('0A1B2C3D', 'wg26')]);
    expect(plan.leftOut).toEqual([
      { uids: ['0BADCAFE', '77ADCAFE'], card: 0xadcafe, reason: 'refused_card' },
      { uids: ['01020304', 'FF020304'], card: 0x020304, reason: 'shared' },
    ]);
    // The whole 4 bytes (8h10d) tell them apart: nothing is left out.
    const full = planDevice({ ...device, cardNumber: '8h10d' }, aps, [lost, twin, first, second], false);
    expect(full.cards.size).toBe(3);
    expect(full.leftOut).toEqual([]);
  });

  it('leaves out a card held for an erased card that shared its low bytes, alone on its number, until it is reissued', () => {
    const held = holder('77ADCAFE', { held: true });
    const plan = planDevice(device, aps, [held, holder('0A1B2C3D')], false);
    expect([...plan.cards.keys()]).toEqual([cardNumberOf('0A1B2C3D', 'wg26')]);
    expect(plan.leftOut).toEqual([{ uids: ['77ADCAFE'], card: 0xadcafe, reason: 'erased_card' }]);
    // Held and refused: nothing to send and nothing to report, as for any refused card.
    expect(planDevice(device, aps, [holder('77ADCAFE', { held: true, status: 'blocked' })], false).leftOut).toEqual([]);
  });

  it('check-config notes say which rules a controller cannot apply and what it does instead', () => {
    const notes = controllerScheduleNotes(config.controllers.devices, aps);
    expect(notes).toContain(
      'controllers.devices[0].doors.3 (dorm): the boarding window 21:00–06:00 crosses midnight; the controller applies 21:00–23:59 and 00:00–06:00 on days 6,7 (the early part on the same days, not the next)',
    );
    expect(notes.some((n) => n.startsWith('controllers.devices[0].doors.2 (lab): holidays'))).toBe(true);
    expect(notes.some((n) => n.startsWith('controllers.devices[0].doors.1 (gate)'))).toBe(false);
  });
});

describe('controller anti-passback mode', () => {
  const cfg = (doors: Record<string, { accessPoint: string; direction?: 'in' | 'out' }>, more: Record<string, unknown>[] = []) => {
    const c = validateConfig(
      {
        access: {
          accessPoints: [
            { id: 'east', name: 'East gate', kind: 'gate', antiPassback: true },
            { id: 'north', name: 'North gate', kind: 'gate', antiPassback: true },
            { id: 'lab', name: 'Lab', kind: 'door' },
          ],
        },
        controllers: { devices: [{ id: 'c', serial: 1, address: '10.0.0.2', doors }, ...more] },
      },
      'test',
    );
    return { device: c.controllers.devices[0]!, devices: c.controllers.devices, aps: new Map(c.access.accessPoints.map((a) => [a.id, a])) };
  };
  const mode = (doors: Parameters<typeof cfg>[0]): number => {
    const { device, aps } = cfg(doors);
    return antiPassbackPlan(device, aps, []).mode;
  };
  const IN = 'in' as const;
  const OUT = 'out' as const;

  it('chooses the mode that says exactly what the gateway does at the doors', () => {
    expect(mode({ '1': { accessPoint: 'east', direction: IN }, '2': { accessPoint: 'east', direction: OUT } })).toBe(1);
    expect(mode({ '1': { accessPoint: 'east', direction: OUT }, '2': { accessPoint: 'east', direction: IN } })).toBe(1);
    // Two gates, each on its own pair of readers.
    expect(mode({ '1': { accessPoint: 'east', direction: IN }, '2': { accessPoint: 'east', direction: OUT }, '3': { accessPoint: 'north', direction: IN }, '4': { accessPoint: 'north', direction: OUT } })).toBe(1);
    // One gate with two turnstiles: in at 1 and 3, out at 2 and 4.
    expect(mode({ '1': { accessPoint: 'east', direction: IN }, '2': { accessPoint: 'east', direction: OUT }, '3': { accessPoint: 'east', direction: IN }, '4': { accessPoint: 'east', direction: OUT } })).toBe(2);
    expect(mode({ '1': { accessPoint: 'east', direction: IN }, '2': { accessPoint: 'east', direction: OUT }, '3': { accessPoint: 'east', direction: OUT }, '4': { accessPoint: 'lab' } })).toBe(3);
    expect(mode({ '1': { accessPoint: 'east', direction: IN }, '2': { accessPoint: 'east', direction: OUT }, '3': { accessPoint: 'east', direction: OUT }, '4': { accessPoint: 'east', direction: OUT } })).toBe(4);
    expect(mode({ '1': { accessPoint: 'lab' }, '2': { accessPoint: 'lab' } })).toBe(0);
  });

  it('keeps the controller\'s anti-passback off, with a note saying why, when no mode fits', () => {
    // A lab door wired at 3 would alternate with the gate's doors or with door 4 under every mode.
    expect(mode({ '1': { accessPoint: 'east', direction: IN }, '2': { accessPoint: 'east', direction: OUT }, '3': { accessPoint: 'lab' }, '4': { accessPoint: 'lab' } })).toBe(0);
    // The gate's in and out on doors 2 and 4, on one side of every mode that covers both.
    expect(mode({ '2': { accessPoint: 'east', direction: IN }, '4': { accessPoint: 'east', direction: OUT } })).toBe(0);
    // (Doors 1 and 3 do fit: 1:(2,3) with door 2 unwired.)
    expect(mode({ '1': { accessPoint: 'east', direction: IN }, '3': { accessPoint: 'east', direction: OUT } })).toBe(3);
    // An in reader alone: its out passes happen where this controller cannot see them.
    expect(mode({ '1': { accessPoint: 'east', direction: IN } })).toBe(0);
    const split = cfg({ '1': { accessPoint: 'east', direction: IN }, '2': { accessPoint: 'east', direction: OUT } }, [
      { id: 'd', serial: 2, address: '10.0.0.3', doors: { '1': { accessPoint: 'east', direction: 'in' } } },
    ]);
    const notes = controllerScheduleNotes(split.devices, split.aps);
    expect(notes).toContain(
      "controllers.devices[0] (c): the gateway's anti-passback is not applied by the controller (its own anti-passback stays off): gate east also has readers outside this controller, whose passes the controller does not see; the controller lets a card pass the same way twice (it decides alone, the gateway only records the pass)",
    );
    const lab = cfg({ '1': { accessPoint: 'east', direction: IN }, '2': { accessPoint: 'east', direction: OUT }, '3': { accessPoint: 'lab' }, '4': { accessPoint: 'lab' } });
    expect(controllerScheduleNotes(lab.devices, lab.aps)[0]).toMatch(/^controllers\.devices\[0\] \(c\): .*door 1 in of east, door 2 out of east fit none of the controller's modes/);
    const alone = cfg({ '1': { accessPoint: 'east', direction: IN }, '2': { accessPoint: 'east', direction: OUT } });
    expect(controllerScheduleNotes(alone.devices, alone.aps).some((n) => n.includes('anti-passback'))).toBe(false);
  });
});

import { z } from 'zod';
import { deviceId, localizedName, timeOfDay } from './common.js';

const role = z.enum(['student', 'staff', 'visitor']);

export const timeWindow = z.strictObject({
  days: z.array(z.number().int().min(1).max(7)).default([1, 2, 3, 4, 5]),
  from: timeOfDay,
  to: timeOfDay,
});

export const accessPointConfig = z.strictObject({
  id: deviceId,
  name: localizedName,
  kind: z.enum(['gate', 'door', 'classroom', 'canteen']),
  zone: z.string().optional(),
  gateId: deviceId.optional().meta({ description: 'Gate readers in and out share a gate id for anti-passback and the open command.' }),
  antiPassback: z.boolean().default(false),
  schedule: z.partialRecord(role, z.array(timeWindow)).default({})
    .meta({ description: 'Time windows per role; a role missing here has access at any time.' }),
  groupSchedule: z.record(z.string(), z.array(timeWindow)).default({})
    .meta({ description: 'Time windows per schedule group (scheduleGroups[].id). A person whose group is listed here is held to these windows instead of their role\'s: boarders may use the dormitory gate earlier than day students.' }),
});

export const scheduleGroupConfig = z.strictObject({
  id: deviceId,
  arrivalCutoff: timeOfDay.default('08:00').meta({ description: 'Arrival after this time is late.' }),
});

export const calendarConfig = z.strictObject({
  holidays: z.array(z.iso.date()).default([]).meta({ description: 'ISO dates (YYYY-MM-DD) on which no lessons take place.' }),
  terms: z.array(z.strictObject({ from: z.iso.date(), to: z.iso.date() })).default([])
    .meta({ description: 'Term ranges; outside them attendance is not counted. Empty means every weekday is a school day.' }),
  makeUpDays: z.array(z.iso.date()).default([]).meta({ description: 'Weekend days that are school days (调休 make-up days).' }),
});

export const walletConfig = z.strictObject({
  perTransactionCapFen: z.number().int().positive().default(5000),
  dailyCapFen: z.number().int().positive().default(20000),
  pinAboveDailyFen: z.number().int().positive().optional()
    .meta({ description: 'A debit that takes the person\'s debits of the school day above this many fen needs the card holder\'s PIN typed on the terminal (docs/wallet.md). Unset: no PIN is ever asked for.' }),
  pinMaxAttempts: z.number().int().min(1).max(10).default(3)
    .meta({ description: 'Wrong PINs in a row that lock paying with a PIN for `pinLockMinutes`, with an alert.' }),
  pinLockMinutes: z.number().int().min(1).max(1440).default(30),
});

export const accessConfig = z.strictObject({
  accessPoints: z.array(accessPointConfig).default([]),
  scheduleGroups: z.array(scheduleGroupConfig).default([{ id: 'default', arrivalCutoff: '08:00' }]),
  calendar: calendarConfig.prefault({}),
  wallet: walletConfig.prefault({}),
  repeatedDenials: z
    .object({ count: z.number().int().positive().default(5), windowS: z.number().int().positive().default(60) })
    .prefault({})
    .meta({ description: 'Denials at one reader within this window that raise an alert.' }),
});

export type AccessConfig = z.infer<typeof accessConfig>;
export type AccessPointConfig = z.infer<typeof accessPointConfig>;

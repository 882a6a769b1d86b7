import { z } from 'zod';
import { timeOfDay } from './common.js';

export const backupConfig = z.strictObject({
  dir: z.string().min(1).optional()
    .meta({ description: 'Where nightly and pre-migration backups go (`campus-backup-<school>-<time>.tar.gz`). Unset: `<dataDir>/backups`, which protects against a bad upgrade or a corrupted database but not against a lost disk: point it at another disk or a network mount (and give the service access: `ReadWritePaths=` in the unit).' }),
  at: timeOfDay.default('02:30').meta({ description: 'School time (school.timezone) of the nightly backup, HH:MM.' }),
  keep: z.number().int().min(1).max(365).default(7)
    .meta({ description: 'Nightly backups kept in `dir`; older ones are deleted after a new one succeeds. Pre-migration backups are kept.' }),
  nightly: z.boolean().default(true).meta({ description: 'Take the nightly backup. Off, the gateway still backs up before a migration.' }),
  snapshots: z.boolean().default(true).meta({ description: 'Include camera snapshots (they can be hundreds of MB).' }),
});

export type BackupConfig = z.infer<typeof backupConfig>;

/**
 * How long personal data is kept (docs/privacy.md). Pruned in small chunks off the tap path, every `pruneEveryS`.
 * Wallet ledger entries are financial records and are not pruned; camera snapshots keep their own caps
 * (cameras.retention), sensor data its own (sensors.retention).
 */
export const retentionConfig = z.strictObject({
  tapsDays: z.number().int().min(1).default(180).meta({ description: 'Taps (who tapped which card where, granted or not).' }),
  attendanceDays: z.number().int().min(1).default(1095)
    .meta({ description: 'Attendance days and excuses: three school years by default, for year-end reports.' }),
  alertsDays: z.number().int().min(1).default(365)
    .meta({ description: 'Resolved alerts, counted from their resolution (open and acknowledged ones are kept until resolved), and remote door opens.' }),
  commandsDays: z.number().int().min(1).default(365).meta({ description: 'The log of commands received from the city.' }),
  notificationsDays: z.number().int().min(1).default(180)
    .meta({ description: 'Messages to guardians and staff (`notify_outbox`: a child\'s arrival or departure, its gate and time, as a tap says it), counted from when each was queued; one still queued is kept until it is sent or expires. Emergency broadcasts name no child and record that a lockdown was announced: they follow `alertsDays`.' }),
  pruneEveryS: z.number().int().min(10).default(3_600),
  pruneChunkRows: z.number().int().min(10).max(100_000).default(2_000)
    .meta({ description: 'Rows per delete transaction: small, so a tap never waits long for the write lock.' }),
});

export type RetentionConfig = z.infer<typeof retentionConfig>;

/** Watching the gateway's own clock (attendance, the wallet's daily cap and every event time depend on it). */
export const clockConfig = z.strictObject({
  maxOffsetS: z.number().positive().default(60)
    .meta({ description: 'An offset larger than this from the cameras\' median clock or the city upstream\'s (HTTP Date) raises `clock_unsynchronized`.' }),
  checkEveryS: z.number().min(1).max(3_600).default(60).meta({ description: 'How often the clock is compared.' }),
  hostNtp: z.boolean().default(true)
    .meta({ description: 'Ask the host whether NTP has synchronised its clock (`timedatectl show`; ignored where there is none).' }),
});

export type ClockConfig = z.infer<typeof clockConfig>;

import { z } from 'zod';
import { timeOfDay } from './common.js';

export const backupConfig = z.strictObject({
  /**
   * Where nightly and pre-migration backups go (`campus-backup-<school>-<time>.tar.gz`). Unset: `<dataDir>/backups`,
   * which protects against a bad upgrade or a corrupted database but not against a lost disk: point it at another disk
   * or a network mount (and give the service access: `ReadWritePaths=` in the unit).
   */
  dir: z.string().min(1).optional(),
  /** School time (school.timezone) of the nightly backup, HH:MM. */
  at: timeOfDay.default('02:30'),
  /** Nightly backups kept in `dir`; older ones are deleted after a new one succeeds. Pre-migration backups are kept. */
  keep: z.number().int().min(1).max(365).default(7),
  /** Take the nightly backup. Off, the gateway still backs up before a migration. */
  nightly: z.boolean().default(true),
  /** Include camera snapshots (they can be hundreds of MB). */
  snapshots: z.boolean().default(true),
});

export type BackupConfig = z.infer<typeof backupConfig>;

/**
 * How long personal data is kept (docs/privacy.md). Pruned in small chunks off the tap path, every `pruneEveryS`.
 * Wallet ledger entries are financial records and are not pruned; camera snapshots keep their own caps
 * (cameras.retention), sensor data its own (sensors.retention).
 */
export const retentionConfig = z.strictObject({
  /** Taps (who tapped which card where, granted or not). */
  tapsDays: z.number().int().min(1).default(180),
  /** Attendance days and excuses: three school years by default, for year-end reports. */
  attendanceDays: z.number().int().min(1).default(1095),
  /** Resolved alerts, counted from their resolution; open and acknowledged ones are kept until resolved. */
  alertsDays: z.number().int().min(1).default(365),
  /** The log of commands received from the city. */
  commandsDays: z.number().int().min(1).default(365),
  pruneEveryS: z.number().int().min(10).default(3_600),
  /** Rows per delete transaction: small, so a tap never waits long for the write lock. */
  pruneChunkRows: z.number().int().min(10).max(100_000).default(2_000),
});

export type RetentionConfig = z.infer<typeof retentionConfig>;

/** Watching the gateway's own clock (attendance, the wallet's daily cap and every event time depend on it). */
export const clockConfig = z.strictObject({
  /** An offset larger than this from the cameras' median clock or the city upstream's (HTTP Date) raises `clock_unsynchronized`. */
  maxOffsetS: z.number().positive().default(60),
  /** How often the clock is compared. */
  checkEveryS: z.number().min(1).max(3_600).default(60),
  /** Ask the host whether NTP has synchronised its clock (`timedatectl show`; ignored where there is none). */
  hostNtp: z.boolean().default(true),
});

export type ClockConfig = z.infer<typeof clockConfig>;

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

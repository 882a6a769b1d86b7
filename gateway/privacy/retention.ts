/** Personal data past its retention (config `retention`, docs/privacy.md), pruned in chunks off the tap path. */
import type { RetentionConfig } from '../../config/operations.js';
import type { Clock } from '../core/clock.js';
import { localDate } from '../core/school-calendar.js';
import { ChunkedPruner } from '../storage/chunked-prune.js';
import type { Database } from '../storage/db.js';

const DAY = 86_400_000;
export const retentionLabels = ['taps', 'attendance_days', 'attendance_excuses', 'alerts', 'door_opens', 'commands', 'notifications', 'broadcasts', 'sessions'] as const;
export type RetentionLabel = (typeof retentionLabels)[number];

export function personalDataPruner(
  db: Database,
  clock: Clock,
  cfg: RetentionConfig,
  timeZone: string,
  onPruned: (label: RetentionLabel, rows: number) => void = () => {},
  onError: (err: unknown) => void = () => {},
): ChunkedPruner<RetentionLabel> {
  const attendanceBefore = (now: number): string => localDate(now - cfg.attendanceDays * DAY, timeZone);
  return new ChunkedPruner<RetentionLabel>(
    db,
    clock,
    [
      { label: 'taps', table: 'taps', key: 'id', column: 'at', cutoff: (now) => now - cfg.tapsDays * DAY },
      // School days (YYYY-MM-DD in the school's zone) sort as text.
      { label: 'attendance_days', table: 'attendance_days', key: 'person_id, date', column: 'date', cutoff: attendanceBefore },
      { label: 'attendance_excuses', table: 'attendance_excuses', key: 'person_id, date', column: 'date', cutoff: attendanceBefore },
      {
        label: 'alerts',
        table: 'alerts',
        key: 'id',
        column: 'resolved_at',
        where: "status = 'resolved'",
        cutoff: (now) => new Date(now - cfg.alertsDays * DAY).toISOString(),
      },
      // Who opened a door remotely and why: kept as long as a resolved alert, the desk's other record of the day.
      { label: 'door_opens', table: 'door_opens', key: 'id', column: 'at', cutoff: (now) => now - cfg.alertsDays * DAY },
      { label: 'commands', table: 'cloud_commands', key: 'id', column: 'received_at', cutoff: (now) => now - cfg.commandsDays * DAY },
      // A message says what a tap said (who arrived, where, when): kept only until then, not for as long as the
      // student is at the school. One still queued is the sender's until it goes or its time to live ends.
      {
        label: 'notifications',
        table: 'notify_outbox',
        key: 'id',
        column: 'created_at',
        where: "status <> 'queued' AND event <> 'emergency'",
        cutoff: (now) => now - cfg.notificationsDays * DAY,
      },
      // An emergency broadcast names no child's whereabouts, and its rows are the record that a lockdown was announced
      // (the console offers the broadcast again without them): kept as long as the desk's other records.
      {
        label: 'broadcasts',
        table: 'notify_outbox',
        key: 'id',
        column: 'created_at',
        where: "status <> 'queued' AND event = 'emergency'",
        cutoff: (now) => now - cfg.alertsDays * DAY,
      },
      { label: 'sessions', table: 'sessions', key: 'token_hash', column: 'expires_at', cutoff: (now) => now },
    ],
    { chunkRows: cfg.pruneChunkRows, everyS: cfg.pruneEveryS },
    onPruned,
    onError,
  );
}

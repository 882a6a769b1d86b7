/**
 * A head count of one day's attendance. The attendance register computes it and cloud sync reports it to the city;
 * it lives in core so that both name the one shape (cloud-sync may import core, not the attendance domain).
 */
export interface AttendanceCounts {
  enrolled: number;
  present: number;
  late: number;
  absent: number;
  excused: number;
  /** Not arrived yet, before their arrival cut-off. */
  expected: number;
}

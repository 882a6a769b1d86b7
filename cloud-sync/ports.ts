/**
 * What cloud sync needs from the other domains. The composition root adapts whatever the attendance, sensors,
 * access and people modules expose to these interfaces; a port left undefined makes its stream or commands
 * report `unavailable` rather than invent data.
 */
import type { AttendanceCounts } from '../gateway/core/attendance-counts.js';

export type AttendanceCountsIn = AttendanceCounts;

/** Students only, counted by grade and class (the attendance module's summary has this shape). */
export interface AttendanceSummaryIn {
  schoolDay: boolean;
  grades: (AttendanceCountsIn & { grade: string | null; classes: (AttendanceCountsIn & { class: string | null })[] })[];
}

export interface StudentAttendance {
  externalId: string;
  name: string;
  grade: string | null;
  class: string | null;
  status: 'present' | 'late' | 'absent' | 'excused' | 'expected';
  /** ISO instants, or null. */
  firstIn: string | null;
  lastOut: string | null;
}

export interface AttendancePort {
  /** Students only, for a school-local date (YYYY-MM-DD), as of now. Nothing is sent for a day that is not a school day. */
  summary(date: string): AttendanceSummaryIn | Promise<AttendanceSummaryIn>;
  /** Per-student rows; used only when the school opted in to identifying attendance data. */
  students?(date: string): StudentAttendance[] | Promise<StudentAttendance[]>;
}

export interface ZoneHourSummary {
  zone: string;
  sensors: number;
  /** By metric name (co2, temperature, …). */
  metrics: Partial<Record<string, { min: number; max: number; avg: number; count: number; unit: string }>>;
}

export interface EnvironmentPort {
  /** Aggregates of the hour starting at `hourStart` (epoch ms, on the hour), by zone. */
  hourlySummaries(hourStart: number): ZoneHourSummary[] | Promise<ZoneHourSummary[]>;
}

/** Thrown (or rejected) by a command port with a code the city sees in the result. */
export interface CommandFailure {
  code: string;
  message: string;
}

export interface CardCommandsPort {
  /** Blocks every active card of the person; resolves with how many cards changed. Unknown person: reject with code not_found. */
  blockCard(externalId: string, reason: string | undefined, by: string): Promise<{ cards: number }> | { cards: number };
  unblockCard(externalId: string, reason: string | undefined, by: string): Promise<{ cards: number }> | { cards: number };
}

export interface LockdownPort {
  startLockdown(by: string, reason?: string): Promise<void> | void;
  endLockdown(by: string, reason?: string): Promise<void> | void;
  active(): boolean;
}

/** Health of the whole gateway, for heartbeats. */
export interface HealthPort {
  report(): { status: 'ok' | 'degraded'; components: Record<string, { ok: boolean; detail?: string; warning?: string }> };
}

export interface SyncPorts {
  attendance?: AttendancePort | undefined;
  environment?: EnvironmentPort | undefined;
  cards?: CardCommandsPort | undefined;
  lockdown?: LockdownPort | undefined;
  health?: HealthPort | undefined;
  places?: PlacesPort | undefined;
}

/**
 * The ids of the places the school knows now (its config's, and zones of cameras and sensors added at run time): an
 * alert's place that is none of them is free text, which goes only with `cloud.identifying.alerts`.
 */
export type PlacesPort = () => { accessPoints: ReadonlySet<string>; zones: ReadonlySet<string> };

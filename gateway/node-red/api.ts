/**
 * What the campus nodes (flows/node-red-contrib-campus) see of the gateway. The nodes are plain CommonJS that
 * Node-RED loads itself, so they cannot import gateway code: this object is handed to them through Node-RED's
 * settings (`RED.settings.campus`). Everything a flow sends in is untrusted and validated here, so the node
 * files stay thin and the rules live in typed, tested code.
 */
import { z } from 'zod';
import { jsonCopy } from '../core/json-copy.js';
import { afterArrivalCutoff, isoWeekday, localTime } from '../core/school-calendar.js';
import { Counter, type Registry } from 'prom-client';
import type { GatewayConfig } from '../../config/schema.js';
import { severitySchema, type Alert, type AlertService } from '../alerts/alerts.js';
import type { EventBus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import { GatewayError } from '../core/errors.js';
import type { MqttPort } from '../core/mqtt-port.js';
import { topics } from '../core/topics.js';
import type { SensorReadingEvent } from '../sensors/contract.js';
import type { TapDecision } from '../access/contract.js';
import { flowPlaces, type FlowPlaces, type PlaceSources } from './places.js';

/** One value of a sensor message, as a campus sensor node gets it. */
export interface FlowSensorReading {
  sensorId: string;
  /** The sensor's zone; null for a sensor the gateway knows no zone of. */
  zone: string | null;
  metric: string;
  value: number | boolean;
  unit: string;
  /** ISO time of the reading. */
  at: string;
}

/** A camera snapshot as the snapshot node outputs it. */
export interface FlowSnapshot {
  id: string;
  cameraId: string;
  image: Buffer;
  contentType: string;
  takenAt: string;
}

/** Takes a snapshot now (the cameras domain). */
export interface SnapshotPort {
  take(cameraId: string): Promise<FlowSnapshot>;
}

/** `expected`: a school day whose arrival cut-off has not passed yet and no tap so far. */
export type AttendanceStatus = 'present' | 'late' | 'absent' | 'excused' | 'expected';

export interface FlowPerson {
  id: number | null;
  externalId: string;
  name: string;
  class: string | null;
  grade: string | null;
}

export interface PersonDay {
  date: string;
  /** null: not a school day, or the day has not been counted yet. */
  status: AttendanceStatus | null;
  firstIn: string | null;
  lastOut: string | null;
}

export interface ClassDay {
  date: string;
  /** enrolled, present, late, absent, excused, expected */
  counts: Record<string, number>;
  persons: { person: FlowPerson; status: AttendanceStatus | null }[];
}

/** Attendance lookups (the attendance domain). */
export interface AttendancePort {
  /** The person's days in the order of `dates`; null when there is no such person. */
  personDays(who: { personId?: number | undefined; externalId?: string | undefined }, dates: string[]): Promise<{ person: FlowPerson; days: PersonDay[] } | null>;
  classDay(className: string, date: string): Promise<ClassDay>;
}

/** Optional capabilities handed in by the composition root as the domains that provide them exist. */
export interface FlowAdapters {
  snapshots?: SnapshotPort | undefined;
  attendance?: AttendancePort | undefined;
  /** The zone of a sensor registered through the API (config sensors are known without it). */
  sensorZone?: ((sensorId: string) => string | undefined) | undefined;
  /** Cameras and sensor zones as registered now (also through the API), for the editor's lists. */
  places?: PlaceSources | undefined;
}

export const flowAlertInput = z.object({
  type: z.string().regex(/^[a-z0-9_.-]{1,64}$/, 'lower-case letters, digits, "_", "." or "-"'),
  severity: severitySchema,
  message: z.string().min(1).max(500),
  source: z.string().min(1).max(100).optional(),
  accessPoint: z.string().max(64).optional(),
  zone: z.string().max(64).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  dedupKey: z.string().min(1).max(200).optional(),
  snapshotId: z.string().min(1).max(100).optional(),
});
export type FlowAlertInput = z.input<typeof flowAlertInput>;

export const gateActionSchema = z.enum(['open', 'hold', 'lock']);
export type GateAction = z.infer<typeof gateActionSchema>;

const topicSchema = z
  .string()
  .min(1)
  .max(256)
  .refine((t) => !/[+#]/.test(t) && !t.startsWith('$'), 'a topic to publish on: no wildcards, not a $SYS topic');
const idSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'an id: letters, digits, "_", "." or "-"');
const personQuery = z
  .object({ personId: z.number().int().positive().optional(), externalId: z.string().min(1).max(64).optional() })
  .refine((q) => q.personId !== undefined || q.externalId !== undefined, 'personId or externalId');
const periodSchema = z.enum(['today', 'week']);
export type AttendancePeriod = z.infer<typeof periodSchema>;

export interface PersonAttendance {
  person: FlowPerson;
  period: AttendancePeriod;
  days: PersonDay[];
  counts: Record<AttendanceStatus, number>;
}

export interface ClassAttendance {
  class: string;
  period: AttendancePeriod;
  days: ClassDay[];
}

export type Unsubscribe = () => void;

/** The object at `RED.settings.campus`. */
export interface CampusFlowApi {
  readonly school: { id: string; name: string; timezone: string };
  readonly capabilities: { snapshots: boolean; attendance: boolean };
  now(): number;
  /** Every bus event of one kind (`tap.decided`, `camera.event`, …). */
  onEvent(kind: string, handler: (event: unknown) => void): Unsubscribe;
  /** Alert lifecycle changes: raised, updated, acknowledged, resolved. */
  onAlert(handler: (change: string, alert: Alert) => void): Unsubscribe;
  /**
   * `sensor.reading`, one call per value, only for the zone and metric asked for (all when not given): the filter
   * runs before a reading is built, as every sensor message of the school passes here.
   */
  onSensorReading(handler: (reading: FlowSensorReading) => void, only?: { zone?: string; metric?: string }): Unsubscribe;
  raiseAlert(input: unknown): Alert;
  /**
   * For a `tap.decided` event: whether it came after the arrival cut-off of the person's schedule group (school time
   * zone), the rule that makes a day's first entry `late`. Null for anything but a granted entry (`in`: a gate, or a
   * reader set as an entrance) of a known person: an exit or a refused tap is no arrival.
   */
  afterArrivalCutoff(tap: unknown): boolean | null;
  publish(topic: unknown, payload: unknown, opts?: { retain?: boolean; qos?: 0 | 1 }): Promise<void>;
  /** `campus/gates/<gateId>/command` for an access point (or a gate id). */
  gate(target: unknown, action: unknown, by?: string): Promise<{ gateId: string; topic: string; command: { action: GateAction; by: string; at: string } }>;
  takeSnapshot(cameraId: unknown): Promise<FlowSnapshot>;
  personAttendance(who: unknown, period: unknown): Promise<PersonAttendance | null>;
  classAttendance(className: unknown, period: unknown): Promise<ClassAttendance>;
  /** The access points, cameras and zones a node can be set to (the editor's drop-downs and their validation). */
  places(): FlowPlaces;
}

export interface FlowApiDeps {
  config: GatewayConfig;
  clock: Clock;
  bus: EventBus;
  alerts: AlertService;
  mqtt: MqttPort;
  metrics: Registry;
  adapters: FlowAdapters;
}

function check<T>(schema: z.ZodType<T>, value: unknown, what: string, rejected: Counter<'call'>): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  rejected.inc({ call: what });
  const issue = r.error.issues[0];
  const path = issue?.path.length ? `${what}.${issue.path.join('.')}` : what;
  throw new GatewayError('bad_request', `${path}: ${issue?.message ?? 'invalid'}`);
}

/** YYYY-MM-DD and ISO weekday (1 = Monday) of an instant in the school's time zone. */
export function schoolDate(ms: number, timeZone: string): { date: string; weekday: number } {
  const { date } = localTime(ms, timeZone);
  return { date, weekday: isoWeekday(date) };
}

/** The dates a period covers, oldest first: today, or Monday of this week up to today. */
export function periodDates(ms: number, timeZone: string, period: AttendancePeriod): string[] {
  const { date, weekday } = schoolDate(ms, timeZone);
  if (period === 'today') return [date];
  const out: string[] = [];
  const noon = Date.parse(`${date}T12:00:00Z`); // calendar arithmetic on a date, away from any DST edge
  for (let back = weekday - 1; back >= 0; back--) out.push(new Date(noon - back * 86_400_000).toISOString().slice(0, 10));
  return out;
}

const zeroCounts = (): Record<AttendanceStatus, number> => ({ present: 0, late: 0, absent: 0, excused: 0, expected: 0 });

export function createCampusFlowApi(deps: FlowApiDeps): CampusFlowApi {
  const { config, clock, bus, alerts, mqtt, adapters } = deps;
  const rejected = new Counter({
    name: 'campus_flow_api_rejected_total',
    help: 'Calls from flows refused for bad input, by call',
    labelNames: ['call'] as const,
    registers: [deps.metrics],
  });
  const tz = config.school.timezone;

  // One bus subscription for all nodes: a deployed flow adds and removes handlers without touching the bus.
  // `own`: the handler reads the gateway's event itself and hands a flow only new values it made of its primitives
  // (onSensorReading), so it needs no copy.
  const byKind = new Map<string, Set<{ handler: (event: unknown) => void; own: boolean }>>();
  bus.onAny((kind, event) => {
    const set = byKind.get(kind);
    if (!set) return;
    // Flows get the event as the bus mirror sends it (JSON), never the gateway's own object: on that, a function node
    // called a canteen tap's `pin.reveal()` (an attacker review), and could change a tap the engine was still deciding.
    // One copy, made only when a handler hands the event on as it is.
    let copy: unknown;
    for (const h of set) {
      try {
        if (h.own) h.handler(event);
        else h.handler((copy ??= jsonCopy(event)));
      } catch {
        // A node's handler reports its own errors through Node-RED; one node never stops the others.
      }
    }
  });
  const subscribe = (kind: string, handler: (event: unknown) => void, own: boolean): Unsubscribe => {
    let set = byKind.get(kind);
    if (!set) byKind.set(kind, (set = new Set()));
    const entry = { handler, own };
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0) byKind.delete(kind);
    };
  };
  const onEvent = (kind: string, handler: (event: unknown) => void): Unsubscribe => subscribe(kind, handler, false);

  const configZones = new Map(config.sensors.sensors.map((s) => [s.id, s.zone]));
  const gateByAccessPoint = new Map(config.access.accessPoints.filter((a) => a.gateId).map((a) => [a.id, a.gateId!]));
  const gateIds = new Set(gateByAccessPoint.values());

  const requireSnapshots = (): SnapshotPort => {
    if (!adapters.snapshots) throw new GatewayError('unavailable', 'snapshots are not available on this gateway (no cameras module)');
    return adapters.snapshots;
  };
  const requireAttendance = (): AttendancePort => {
    if (!adapters.attendance) throw new GatewayError('unavailable', 'attendance is not available on this gateway');
    return adapters.attendance;
  };

  return {
    school: { id: config.school.id, name: config.school.name, timezone: tz },
    capabilities: { snapshots: adapters.snapshots !== undefined, attendance: adapters.attendance !== undefined },
    now: () => clock.now(),
    onEvent,
    onAlert(handler) {
      const offs = (['alert.raised', 'alert.updated', 'alert.acknowledged', 'alert.resolved'] as const).map((kind) =>
        onEvent(kind, (a) => handler(kind.slice(6), a as Alert)),
      );
      return () => offs.forEach((off) => off());
    },
    onSensorReading(handler, only = {}) {
      // The sensors domain announces one event per message with all its readings; flows want one value at a time,
      // made here from the event's strings, numbers and booleans: the event itself never reaches a flow.
      return subscribe('sensor.reading', (event) => {
        const e = event as Partial<SensorReadingEvent> | null;
        if (typeof e !== 'object' || e === null || !Array.isArray(e.readings)) return;
        const sensorId = typeof e.sensorId === 'string' ? e.sensorId : '';
        const zone = typeof e.zone === 'string' ? e.zone : (configZones.get(sensorId) ?? adapters.sensorZone?.(sensorId) ?? null);
        if (only.zone && zone !== only.zone) return;
        const at = typeof e.at === 'string' ? e.at : '';
        for (const one of e.readings) {
          if (only.metric && one.metric !== only.metric) continue;
          handler({ sensorId, zone, metric: one.metric, value: one.value, unit: one.unit, at });
        }
      }, true);
    },
    afterArrivalCutoff(tap) {
      const d = tap as Partial<TapDecision> | null;
      if (typeof d !== 'object' || d === null || d.granted !== true || d.direction !== 'in') return null;
      if (typeof d.at !== 'number' || !Number.isFinite(d.at) || typeof d.person?.scheduleGroup !== 'string') return null;
      return afterArrivalCutoff(localTime(d.at, tz).secondOfDay, d.person.scheduleGroup, config.access.scheduleGroups);
    },
    raiseAlert(input) {
      const a = check(flowAlertInput, input, 'alert', rejected);
      const alert = alerts.raise({
        type: a.type,
        severity: a.severity,
        source: a.source ?? 'node-red',
        message: a.message,
        accessPoint: a.accessPoint,
        zone: a.zone,
        data: a.data ?? {},
        ...(a.dedupKey ? { dedupKey: a.dedupKey } : {}),
      });
      if (a.snapshotId && !alert.snapshotIds.includes(a.snapshotId)) return alerts.attachSnapshot(alert.id, a.snapshotId);
      return alert;
    },
    async publish(topic, payload, opts) {
      const t = check(topicSchema, topic, 'topic', rejected);
      const body = Buffer.isBuffer(payload) || typeof payload === 'string' ? payload : JSON.stringify(payload ?? null);
      await mqtt.publish(t, body, { qos: opts?.qos ?? 1, retain: opts?.retain ?? false });
    },
    async gate(target, action, by = 'node-red') {
      const id = check(idSchema, target, 'accessPoint', rejected);
      const act = check(gateActionSchema, action, 'action', rejected);
      const gateId = gateByAccessPoint.get(id) ?? (gateIds.has(id) ? id : undefined);
      if (!gateId) {
        rejected.inc({ call: 'accessPoint' });
        throw new GatewayError('not_found', `accessPoint: "${id}" is not a gate (no gateId in access.accessPoints)`);
      }
      const topic = topics.gateCommand(gateId);
      const command = { action: act, by, at: new Date(clock.now()).toISOString() };
      await mqtt.publish(topic, command, { qos: 1 });
      return { gateId, topic, command };
    },
    async takeSnapshot(cameraId) {
      const id = check(idSchema, cameraId, 'cameraId', rejected);
      return requireSnapshots().take(id);
    },
    async personAttendance(who, period) {
      const q = check(personQuery, who, 'person', rejected);
      const p = check(periodSchema, period, 'period', rejected);
      const r = await requireAttendance().personDays(q, periodDates(clock.now(), tz, p));
      if (!r) return null;
      const counts = zeroCounts();
      for (const d of r.days) if (d.status) counts[d.status]++;
      return { person: r.person, period: p, days: r.days, counts };
    },
    async classAttendance(className, period) {
      const c = check(z.string().min(1).max(64), className, 'class', rejected);
      const p = check(periodSchema, period, 'period', rejected);
      const port = requireAttendance();
      const days: ClassDay[] = [];
      for (const date of periodDates(clock.now(), tz, p)) days.push(await port.classDay(c, date));
      return { class: c, period: p, days };
    },
    places: () => flowPlaces(config, adapters.places ?? {}),
  };
}

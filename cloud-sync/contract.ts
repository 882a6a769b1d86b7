/**
 * The contract with the city education command center: the envelope every message travels in, the `data` of
 * every message type, and the commands the city may send. `npm run contract` publishes these schemas as JSON
 * Schema in docs/city-contract/; bump CONTRACT_VERSION on any change a receiver could notice.
 */
import { z } from 'zod';

export const CONTRACT_VERSION = '2.1.0';

const ulid = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'a ULID');
const isoTime = z.iso.datetime({ offset: true });
const code = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/);
const count = z.number().int().nonnegative();

export const streamSchema = z.enum(['alerts', 'attendance', 'environment', 'heartbeat', 'command-results']);
export type Stream = z.infer<typeof streamSchema>;

// ---------------------------------------------------------------- alerts

/** Present only when the school opted in (cloud.identifying.alerts). */
export const alertSubjectSchema = z
  .object({
    externalId: z.string().optional(),
    name: z.string().optional(),
    cardUid: z.string().optional(),
    role: z.string().optional(),
    grade: z.string().optional(),
    class: z.string().optional(),
  })
  .meta({ description: 'Who the alert is about; sent only when the school opted in to identifying data on the alerts stream.' });

export const alertDataSchema = z
  .object({
    alertId: ulid,
    type: code.meta({ description: 'card_lost, card_blocked, repeated_denials, co2_high, smoke, sensor_offline, camera_offline, …' }),
    severity: z.enum(['info', 'warning', 'critical']),
    status: z.enum(['open', 'acknowledged', 'resolved']),
    /** Kind of source only (`reader`, `sensor`, `camera`, `city`, `gateway`) and its device id. */
    source: z.string().max(128),
    summary: z.string().max(200).meta({ description: 'Machine-made, never contains personal data: "<type> at <place>".' }),
    message: z.string().max(1000).optional().meta({ description: 'The local free-text message; only with identifying opt-in.' }),
    accessPoint: z.string().nullable(),
    zone: z.string().nullable(),
    count: z.number().int().positive(),
    raisedAt: isoTime,
    lastRaisedAt: isoTime,
    acknowledgedAt: isoTime.nullable(),
    resolvedAt: isoTime.nullable(),
    /** Roles, not usernames: who acted at the school. */
    acknowledgedBy: z.enum(['school', 'city']).nullable(),
    resolvedBy: z.enum(['school', 'city', 'gateway']).nullable(),
    snapshots: z
      .array(z.object({ id: z.string(), path: z.string().meta({ description: 'Gateway API path of the image; the image itself is not sent.' }) }))
      .meta({ description: 'Camera snapshot references.' }),
    clips: z
      .array(z.object({ id: z.string(), path: z.string().meta({ description: 'Gateway API path of the MP4; the video itself is not sent.' }) }))
      .optional()
      .meta({ description: 'Video clip references; only when the school opted in (cloud.identifying.clips), absent otherwise.' }),
    details: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .meta({ description: 'Whitelisted non-identifying details (reason, readerId, direction, metric, value, threshold, unit, …).' }),
    subject: alertSubjectSchema.optional(),
  })
  .meta({ title: 'Alert change' });
export type AlertData = z.infer<typeof alertDataSchema>;

// ---------------------------------------------------------------- attendance

const attendanceCounts = {
  enrolled: count,
  present: count.meta({ description: 'Arrived on time.' }),
  late: count,
  absent: count,
  excused: count,
  expected: count.meta({ description: 'Not arrived yet but still before their arrival cut-off (intraday only; 0 at end of day).' }),
};
export const attendanceCountsSchema = z.object(attendanceCounts);
export type AttendanceCounts = z.infer<typeof attendanceCountsSchema>;

export const attendanceDataSchema = z
  .object({
    date: z.iso.date(),
    timezone: z.string(),
    asOf: isoTime,
    final: z.boolean().meta({ description: 'true for the end-of-day summary.' }),
    totals: attendanceCountsSchema,
    grades: z.array(
      z.object({
        grade: z.string(),
        ...attendanceCounts,
        classes: z.array(z.object({ class: z.string(), ...attendanceCounts })),
      }),
    ),
    students: z
      .array(
        z.object({
          externalId: z.string(),
          name: z.string().optional(),
          grade: z.string().nullable(),
          class: z.string().nullable(),
          status: z.enum(['present', 'late', 'absent', 'excused', 'expected']),
          firstIn: isoTime.nullable(),
          lastOut: isoTime.nullable(),
        }),
      )
      .optional()
      .meta({ description: 'Per-student rows; only when the school opted in (cloud.identifying.attendance).' }),
  })
  .meta({ title: 'Attendance summary' });
export type AttendanceData = z.infer<typeof attendanceDataSchema>;

// ---------------------------------------------------------------- environment

export const metricSummarySchema = z.object({ min: z.number(), max: z.number(), avg: z.number(), count: count, unit: z.string() });

export const environmentDataSchema = z
  .object({
    hourStart: isoTime,
    hourEnd: isoTime,
    zones: z.array(
      z.object({
        zone: z.string(),
        sensors: count,
        metrics: z.record(z.string(), metricSummarySchema),
      }),
    ),
  })
  .meta({ title: 'Hourly environment summary by zone' });
export type EnvironmentData = z.infer<typeof environmentDataSchema>;

// ---------------------------------------------------------------- heartbeat

const perStream = z.record(z.string(), count);

export const heartbeatDataSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    components: z.record(
      z.string(),
      z.object({ ok: z.boolean(), detail: z.string().optional(), warning: z.string().optional().meta({ description: 'Running, but against the secure defaults (e.g. an insecure upstream allowed by cloud.allowInsecure).' }) }),
    ),
    uptimeS: count,
    versions: z.object({ gateway: z.string(), dbSchema: count, contract: z.string(), node: z.string() }),
    clock: z.object({ gatewayTime: isoTime, timezone: z.string() }),
    outbox: z.object({ depth: perStream, bytes: count, maxBytes: count }),
    dropped: z.object({
      expired: perStream.meta({ description: 'Rows dropped unsent because their stream TTL passed, since the outbox was created.' }),
      overflow: perStream.meta({ description: 'Rows dropped by the byte cap (oldest of the lowest priority first).' }),
      rejected: count.meta({ description: 'Rows the upstream refused with a 4xx; parked at the school.' }),
    }),
    transport: z.object({
      kind: z.enum(['mqtt', 'https', 'demo']),
      lastSuccessAt: isoTime.nullable(),
      lastError: z.string().nullable(),
      insecure: z.boolean().meta({
        description: 'true when the school allowed an upstream without verified TLS (cloud.allowInsecure): plaintext to a non-loopback host, or certificate checks off.',
      }),
    }),
  })
  .meta({ title: 'Gateway heartbeat' });
export type HeartbeatData = z.infer<typeof heartbeatDataSchema>;

// ---------------------------------------------------------------- commands (city → school) and their results

const commandBase = {
  id: z.string().min(1).max(128).meta({ description: 'Unique per command; a command id is executed at most once, and a repeat is rejected (`duplicate`).' }),
  schoolId: z.string(),
  issuedAt: isoTime.meta({ description: 'Rejected when older than the school\'s cloud.commandMaxAgeS (default 300 s; `stale`) or more than 60 s ahead of its clock (`future`).' }),
  /** A command that arrives after this is not executed (result `rejected`, reason `expired`). */
  expiresAt: isoTime.optional(),
  kid: z.string().min(1).max(64).meta({ description: 'Which city key signed it: a kid in the school\'s cloud.commandKeys.' }),
  sig: z
    .string()
    .regex(/^[A-Za-z0-9+/]{86}==$/, 'base64 of a 64-byte Ed25519 signature')
    .meta({ description: 'Base64 Ed25519 signature over the RFC 8785 canonical JSON of this command without `sig` (see signing.md).' }),
};
const externalIdParams = z.object({ externalId: z.string().min(1).max(64), reason: z.string().max(200).optional() });

export const commandSchema = z
  .discriminatedUnion('type', [
    z.object({ ...commandBase, type: z.literal('card.block'), params: externalIdParams }),
    z.object({ ...commandBase, type: z.literal('card.unblock'), params: externalIdParams }),
    z.object({ ...commandBase, type: z.literal('lockdown.start'), params: z.object({ reason: z.string().max(200).optional() }).prefault({}) }),
    z.object({ ...commandBase, type: z.literal('lockdown.end'), params: z.object({ reason: z.string().max(200).optional() }).prefault({}) }),
    z.object({ ...commandBase, type: z.literal('alert.ack'), params: z.object({ alertId: ulid, note: z.string().max(500).optional() }) }),
    z.object({ ...commandBase, type: z.literal('ping'), params: z.object({}).prefault({}) }),
  ])
  .meta({ title: 'Command from the city' });
export type Command = z.infer<typeof commandSchema>;
export type CommandType = Command['type'];
export const commandTypes = ['card.block', 'card.unblock', 'lockdown.start', 'lockdown.end', 'alert.ack', 'ping'] as const;

/** Why a command was not executed; each is counted, logged and raises a `city_command_rejected` alert. */
export const commandRejectReasons = ['unsigned', 'bad_signature', 'unknown_key', 'stale', 'future', 'expired', 'duplicate'] as const;
export const commandRejectReasonSchema = z.enum(commandRejectReasons);
export type CommandRejectReason = z.infer<typeof commandRejectReasonSchema>;

export const commandResultDataSchema = z
  .object({
    commandId: z.string(),
    commandType: z.string(),
    status: z.enum(['ok', 'failed', 'rejected', 'interrupted']),
    reason: commandRejectReasonSchema.optional().meta({ description: 'Only with status `rejected`: why the command was not executed.' }),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
    receivedAt: isoTime,
    completedAt: isoTime,
  })
  .meta({ title: 'Result of a city command' });
export type CommandResultData = z.infer<typeof commandResultDataSchema>;

// ---------------------------------------------------------------- envelopes

/** Every message type, its stream and its data. */
export const messageTypes = {
  'alert.raised': { stream: 'alerts', data: alertDataSchema },
  'alert.updated': { stream: 'alerts', data: alertDataSchema },
  'alert.acknowledged': { stream: 'alerts', data: alertDataSchema },
  'alert.resolved': { stream: 'alerts', data: alertDataSchema },
  'attendance.intraday': { stream: 'attendance', data: attendanceDataSchema },
  'attendance.end-of-day': { stream: 'attendance', data: attendanceDataSchema },
  'environment.hourly': { stream: 'environment', data: environmentDataSchema },
  heartbeat: { stream: 'heartbeat', data: heartbeatDataSchema },
  'command.result': { stream: 'command-results', data: commandResultDataSchema },
} as const satisfies Record<string, { stream: Stream; data: z.ZodType }>;
export type MessageType = keyof typeof messageTypes;
export type DataOf<T extends MessageType> = z.infer<(typeof messageTypes)[T]['data']>;

const envelopeFields = {
  id: ulid.meta({ description: 'ULID; the same id on every resend, so the receiver de-duplicates on it.' }),
  schemaVersion: z.literal(CONTRACT_VERSION),
  schoolId: z.string(),
  occurredAt: isoTime.meta({ description: 'When the event happened at the school.' }),
  sentAt: isoTime.meta({ description: 'When this copy left the gateway (differs between resends).' }),
};

export function envelopeSchemaFor<T extends MessageType>(type: T) {
  const def = messageTypes[type];
  return z
    .object({ ...envelopeFields, stream: z.literal(def.stream), type: z.literal(type), data: def.data })
    .meta({ title: `${type} envelope` });
}

/** Any envelope: the type decides the stream and the shape of data. */
export const envelopeSchema = z
  .discriminatedUnion(
    'type',
    (Object.keys(messageTypes) as MessageType[]).map((t) => envelopeSchemaFor(t)) as unknown as [
      ReturnType<typeof envelopeSchemaFor<'heartbeat'>>,
      ...ReturnType<typeof envelopeSchemaFor<'heartbeat'>>[],
    ],
  )
  .meta({ title: 'City envelope' });

export interface Envelope<T extends MessageType = MessageType> {
  id: string;
  schemaVersion: typeof CONTRACT_VERSION;
  schoolId: string;
  stream: Stream;
  type: T;
  occurredAt: string;
  sentAt: string;
  data: DataOf<T>;
}

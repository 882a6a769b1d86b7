import { z } from 'zod';
import { deviceId, localizedName, secretHash } from './common.js';

/** Metrics the gateway understands; units and plausible ranges live in gateway/sensors/metrics.ts. */
export const metricName = z.enum([
  'temperature',
  'humidity',
  'co2',
  'pm25',
  'pm10',
  'voc',
  'noise',
  'illuminance',
  'pressure',
  'battery',
  'smoke',
  'leak',
]);
export type MetricName = z.infer<typeof metricName>;

/** A zone name or a pattern with `*` (any characters): `classroom-*`, `dorm-*`, `*`. */
export const zonePattern = z.string().regex(/^[A-Za-z0-9_.*-]{1,64}$/, 'a zone name, "*" matches any characters');

export const sensorSource = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('native') }),
    z.strictObject({
      type: z.literal('zigbee2mqtt'),
      // A "+" or "#" would make the device's broker grant a wildcard over other devices' topics.
      friendlyName: z.string().regex(/^[^/+#\0](?:[^+#\0]{0,126}[^/+#\0])?$/, 'a Zigbee2MQTT friendly name: no "+", "#", or "/" at either end'),
    }),
    z.strictObject({ type: z.literal('tasmota'), device: z.string().regex(/^[^/+#]{1,64}$/, 'a Tasmota topic, no "/", "+" or "#"') }),
    z.strictObject({ type: z.literal('simulated') }),
  ])
  .default({ type: 'native' });

export const sensorConfig = z.strictObject({
  id: deviceId,
  /** What the console calls it; the id when unset. */
  name: localizedName.optional(),
  zone: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-"'),
  kind: z.string().min(1).default('environment'),
  model: z.string().optional(),
  intervalS: z.number().int().positive().default(60)
    .meta({ description: 'Expected seconds between reports; `offlineAfterIntervals` missed intervals raise `sensor_offline`.' }),
  source: sensorSource.meta({ description: 'Payload family and the name the device publishes under, if not the native topic.' }),
  secretHash: secretHash.optional(),
});

/**
 * One threshold rule. Numeric: `above` (or `below`) for at least `forS` seconds raises; the alert clears
 * only once the value is back past `clearAt` (hysteresis, so a value hovering at the limit does not flap).
 * Boolean metrics (smoke, leak): `equals: true` raises at once. Either way the alert resolves only once the condition
 * has stayed clear for `clearForS`: a detector alternating true and false raised a new alert at every flap.
 */
export const thresholdConfig = z
  .object({
    type: z.string().regex(/^[a-z][a-z0-9_]{1,47}$/, 'lower-case letters, digits and "_"').meta({ description: 'Alert type, e.g. `co2_high`.' }),
    metric: metricName,
    zones: z.array(zonePattern).min(1).default(['*']),
    above: z.number().optional(),
    below: z.number().optional(),
    equals: z.boolean().optional(),
    clearAt: z.number().optional(),
    forS: z.number().nonnegative().default(0),
    clearForS: z.number().nonnegative().default(60)
      .meta({ description: 'The alert resolves once the condition has stayed clear this long (checked at each reading and every `checkIntervalMs`); a sensor flapping across the limit keeps one alert open.' }),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
  })
  .superRefine((t, ctx) => {
    const set = [t.above, t.below, t.equals].filter((v) => v !== undefined).length;
    if (set !== 1) ctx.addIssue({ code: 'custom', message: 'set exactly one of above, below, equals' });
    if (t.clearAt !== undefined && t.above !== undefined && t.clearAt > t.above) {
      ctx.addIssue({ code: 'custom', path: ['clearAt'], message: 'must be at or below `above`' });
    }
    if (t.clearAt !== undefined && t.below !== undefined && t.clearAt < t.below) {
      ctx.addIssue({ code: 'custom', path: ['clearAt'], message: 'must be at or above `below`' });
    }
  });

export const defaultThresholds: z.input<typeof thresholdConfig>[] = [
  { type: 'co2_high', metric: 'co2', zones: ['classroom-*'], above: 1500, clearAt: 1400, forS: 300, severity: 'warning' },
  { type: 'smoke_detected', metric: 'smoke', equals: true, severity: 'critical' },
  { type: 'water_leak', metric: 'leak', equals: true, severity: 'critical' },
];

const band = z.strictObject({ min: z.number(), max: z.number() });

export const sensorsConfig = z.strictObject({
  sensors: z.array(sensorConfig).default([]),
  thresholds: z.array(thresholdConfig).prefault(defaultThresholds)
    .meta({ description: 'A file\'s list replaces these defaults entirely (list the ones you keep).' }),
  offlineAfterIntervals: z.number().int().positive().default(3)
    .meta({ description: 'A sensor silent for this many of its intervals raises `sensor_offline`.' }),
  checkIntervalMs: z.number().int().positive().default(5000).meta({ description: 'How often durations and silences are checked between readings.' }),
  retention: z
    .object({
      // Sizing (docs/sensors.md): each row ≈ 100 bytes; raw and minute rows grow alike at one reading a minute.
      rawDays: z.number().positive().default(7),
      minuteDays: z.number().positive().default(30),
      hourlyDays: z.number().positive().default(1825),
      pruneChunkRows: z.number().int().positive().default(2000)
        .meta({ description: 'Pruning deletes at most this many rows per step and yields in between, so ingest never waits long.' }),
      pruneEveryS: z.number().positive().default(300),
    })
    .prefault({}),
  maxPayloadBytes: z.number().int().positive().default(16_384).meta({ description: 'Payloads larger than this are rejected unread.' }),
  maxClockSkewS: z.number().int().nonnegative().default(300)
    .meta({ description: 'Readings stamped further ahead than this (device clock wrong) are rejected; ones ahead by less are stored at their arrival time.' }),
  rejectLogEveryS: z.number().positive().default(60)
    .meta({ description: 'At most one log line per sensor and reason per this many seconds; the counters always count.' }),
  comfort: z
    .object({
      temperature: z.strictObject({ good: band, fair: band }).default({ good: { min: 20, max: 26 }, fair: { min: 18, max: 28 } }),
      humidity: z.strictObject({ good: band, fair: band }).default({ good: { min: 30, max: 60 }, fair: { min: 20, max: 70 } }),
      co2: z.strictObject({ good: band, fair: band }).default({ good: { min: 0, max: 1000 }, fair: { min: 0, max: 1500 } }),
    })
    .prefault({})
    .meta({ description: 'Comfort bands for the rooms summary: inside `good` is good, inside `fair` is fair, else poor.' }),
  busEvents: z.enum(['each', 'none']).default('each')
    .meta({ description: '`sensor.reading` on the event bus (and so on `campus/events/sensor.reading`, SSE, Node-RED): `each` reading, or `none` for very large installations.' }),
  simulation: z
    .object({
      stuffyRoomSensor: deviceId.optional(),
      lessonCycleS: z.number().positive().default(600).meta({ description: 'Length of one compressed lesson + break, in seconds.' }),
    })
    .prefault({})
    .meta({ description: 'Demo: the simulated classroom whose CO2 climbs past the threshold in a compressed lesson.' }),
});

export type SensorConfig = z.infer<typeof sensorConfig>;
export type ThresholdConfig = z.infer<typeof thresholdConfig>;
export type SensorsConfig = z.infer<typeof sensorsConfig>;
export type SensorSource = z.infer<typeof sensorSource>;

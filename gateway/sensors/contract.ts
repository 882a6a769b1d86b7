/**
 * What the sensors domain shares with the payload drivers (drivers/sensors), cloud sync, Node-RED and the console.
 *
 * Tables (migrations 30–34, owned by gateway/sensors):
 *   sensors(id TEXT PRIMARY KEY, zone, kind, model, interval_s, source JSON, created_at, updated_at)  — added via the API
 *   sensor_series(id INTEGER PRIMARY KEY, sensor_id, metric)  UNIQUE (sensor_id, metric) — one sensor's one metric
 *   sensor_keys(id INTEGER PRIMARY KEY, sensor_id)  UNIQUE (sensor_id) — one sensor's raw rows
 *   sensor_latest(series, value REAL, unit, at INTEGER ms)  PRIMARY KEY (series)
 *   sensor_readings(sensor, at INTEGER ms, temperature REAL, …one column per metric, NULL when absent)
 *                                                            — raw, one row per message, kept `retention.rawDays`
 *   sensor_agg_1m / sensor_agg_1h(series, bucket INTEGER ms, min, max, sum, count)
 * Boolean metrics (smoke, leak) are stored as 1 / 0.
 */
import type { MetricName } from '../../config/sensors.js';

export type { MetricName };

/** One validated measurement. `value` is 1 / 0 for boolean metrics; `at` is epoch ms. */
export interface Reading {
  sensorId: string;
  metric: MetricName;
  value: number;
  unit: string;
  at: number;
}

/**
 * `sensor.reading` on the bus (and `campus/events/sensor.reading`): one event per accepted message, with all the
 * readings it carried, announced once they are stored. Per message rather than per value because every bus event is
 * also published on the broker: one event per value cost 40 % of ingest throughput in `bench/ingest.ts`.
 */
export interface SensorReadingEvent {
  sensorId: string;
  zone: string;
  /** ISO time of the readings. */
  at: string;
  readings: { metric: MetricName; value: number | boolean; unit: string }[];
}

export type PayloadFamilyName = 'native' | 'zigbee2mqtt' | 'tasmota';

/**
 * What a payload driver makes of one message: candidate values per metric (not yet validated; the domain checks
 * types and ranges) and the device's own timestamp if it sent one. Keys the driver does not recognise as a metric
 * go to `unknown` so the domain can count them.
 */
export interface NormalizedPayload {
  values: Partial<Record<MetricName, unknown>>;
  unknown: string[];
  /** Device timestamp as sent (ISO string or epoch s/ms); validated by the domain. */
  at?: unknown;
}

export type NormalizeResult = { ok: true; payload: NormalizedPayload } | { ok: false; reason: 'not_an_object' | 'no_metrics' };

/** One payload family: which topics it listens on and how its JSON becomes metrics. */
export interface PayloadFamily {
  readonly name: PayloadFamilyName;
  /** MQTT filter subscribed in-process on the embedded broker. */
  readonly filter: string;
  /**
   * The device key in a topic (sensor id, Zigbee2MQTT friendly name, Tasmota topic), or null for
   * topics of this family that carry no readings (the Zigbee2MQTT bridge, /set, /availability).
   */
  deviceFromTopic(topic: string): string | null;
  /** `json` is already parsed. */
  normalize(json: unknown): NormalizeResult;
}

/** Sensors generating their own readings (demo mode); started and stopped by the sensors module. */
export interface SensorSimulation {
  start(): void;
  stop(): void;
}

/** Per metric over one hour in one zone: what cloud sync sends upstream (no personal data). */
export interface HourlyZoneSummary {
  zone: string;
  /** ISO start of the hour (UTC). */
  hour: string;
  sensors: number;
  metrics: Partial<Record<MetricName, { min: number; max: number; avg: number; count: number; unit: string }>>;
}

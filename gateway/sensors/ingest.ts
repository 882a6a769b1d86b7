/**
 * One MQTT message in, validated readings out. Nothing a device sends can throw past this point: every way a
 * payload can be wrong is a reason, counted per sensor in `campus_sensor_rejected_total` and logged at most once per
 * sensor and reason per `rejectLogEveryS`. Values are checked one by one, so a sensor with one broken probe keeps
 * reporting the others.
 */
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { MetricName, PayloadFamily, Reading } from './contract.js';
import { parseDeviceTime } from '../core/device-time.js';
import { checkMetric, metricCatalog, type RejectReason } from './metrics.js';
import type { SensorEntry, SensorRegistry } from './registry.js';
import { DAY } from './storage.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import { MetricFactory, type Tally } from '../core/metrics.js';

export interface IngestOptions {
  maxPayloadBytes: number;
  maxClockSkewS: number;
  rawDays: number;
  rejectLogEveryS: number;
}

export type ReadingsSink = (sensor: SensorEntry, readings: Reading[], now: number) => void;

/**
 * A device's value as the log shows it. Not `String(v)`: a parsed `{"toString":1}` has no callable toString, and the
 * throw took the message's good readings with it. JSON text of a parsed value throws only when it is nested too deep
 * for the stack (an array 5,000 levels deep is 10 KB, under maxPayloadBytes): then its kind is shown.
 */
const shown = (v: unknown, max: number): string => {
  if (typeof v === 'string') return v.slice(0, max);
  try {
    return (JSON.stringify(v) ?? String(v)).slice(0, max);
  } catch {
    return Array.isArray(v) ? '[nested too deep]' : '{nested too deep}';
  }
};

export class SensorIngest {
  private readonly rejected: Counter<'sensor' | 'reason'>;
  private readonly unknownDevices: Counter<'family'>;
  private readonly accepted: Tally;
  private readonly readingsTotal: Tally;
  private readonly logLimited: RateLimitedLog;

  constructor(
    private readonly registry: SensorRegistry,
    private readonly clock: Clock,
    private readonly opts: IngestOptions,
    private readonly sink: ReadingsSink,
    log: Logger,
    metrics: Registry,
  ) {
    this.rejected = new Counter({
      name: 'campus_sensor_rejected_total',
      help: 'Sensor payloads or values rejected, by sensor and reason',
      labelNames: ['sensor', 'reason'],
      registers: [metrics],
    });
    this.unknownDevices = new Counter({
      name: 'campus_sensor_unknown_device_messages_total',
      help: 'Messages on sensor topics from devices not in the registry, by payload family',
      labelNames: ['family'],
      registers: [metrics],
    });
    // Counted on every message, so summed here and handed to prom-client when /metrics is read.
    const m = new MetricFactory(metrics);
    this.accepted = m.tally('campus_sensor_messages_total', 'Sensor messages with at least one valid reading, by payload family', 'family');
    this.readingsTotal = m.tally('campus_sensor_readings_total', 'Valid sensor readings accepted');
    this.logLimited = new RateLimitedLog(log, () => clock.now(), opts.rejectLogEveryS * 1000);
  }

  handle(family: PayloadFamily, topic: string, payload: Buffer): void {
    const key = family.deviceFromTopic(topic);
    if (key === null) return;
    const sensor = this.registry.resolve(family.name, key);
    if (!sensor) {
      this.unknownDevices.inc({ family: family.name });
      this.logLimited.warn(`unknown\0${family.name}\0${key.slice(0, 128)}`, { family: family.name, device: key.slice(0, 128), topic: topic.slice(0, 256) }, 'message from a device not in the sensor registry');
      return;
    }
    if (payload.length > this.opts.maxPayloadBytes) return this.reject(sensor, 'too_large', { bytes: payload.length });
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      return this.reject(sensor, 'invalid_json', { sample: payload.subarray(0, 64).toString('utf8') });
    }
    const normalized = family.normalize(json);
    if (!normalized.ok) return this.reject(sensor, normalized.reason, {});
    const { values, unknown, at: rawAt } = normalized.payload;
    const now = this.clock.now();
    let at = now;
    if (rawAt !== undefined) {
      const parsed = parseDeviceTime(rawAt);
      // A stamp from the future or from before raw retention is a device with a wrong clock: its place in the
      // series would be a lie, so the whole payload goes.
      if (parsed === undefined || parsed > now + this.opts.maxClockSkewS * 1000 || parsed < now - this.opts.rawDays * DAY) {
        return this.reject(sensor, 'bad_timestamp', { at: shown(rawAt, 64) });
      }
      // A stamp ahead by less (a clock a little fast) is stored as arriving now: no reading is from the future, and
      // one stamped minutes ahead was its zone's newest reading (the rooms summary) until then, over a roommate's.
      at = Math.min(parsed, now);
    }
    if (unknown.length > 0) this.reject(sensor, 'unknown_metric', { keys: unknown.slice(0, 5).map((k) => k.slice(0, 32)) });
    const readings: Reading[] = [];
    for (const metric of Object.keys(values) as MetricName[]) {
      const check = checkMetric(metric, values[metric]);
      if (check.ok) readings.push({ sensorId: sensor.id, metric, value: check.value, unit: metricCatalog[metric].unit, at });
      else this.reject(sensor, check.reason, { metric, value: shown(values[metric], 32) });
    }
    if (readings.length === 0) return;
    this.accepted.add(1, family.name);
    this.readingsTotal.add(readings.length);
    this.sink(sensor, readings, now);
  }

  private reject(sensor: SensorEntry, reason: RejectReason, detail: Record<string, unknown>): void {
    this.rejected.inc({ sensor: sensor.id, reason });
    this.logLimited.warn(`${sensor.id}\0${reason}`, { sensorId: sensor.id, reason, ...detail }, 'sensor payload rejected');
  }
}

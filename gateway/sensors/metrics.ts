/**
 * The metric catalog: unit and plausible range per metric. "Plausible" means physically possible for an indoor
 * school sensor: a CO2 of 90 000 ppm or a humidity of 140 % is a broken sensor, not a room.
 */
import { metricName, type MetricName } from '../../config/sensors.js';

export type MetricSpec = { unit: string; kind: 'number'; min: number; max: number } | { unit: string; kind: 'boolean' };

const range = (unit: string, min: number, max: number): MetricSpec => ({ unit, kind: 'number', min, max });
const flag: MetricSpec = { unit: 'bool', kind: 'boolean' };

export const metricCatalog: Record<MetricName, MetricSpec> = {
  temperature: range('°C', -40, 85),
  humidity: range('%', 0, 100),
  co2: range('ppm', 250, 20_000),
  pm25: range('µg/m³', 0, 1000),
  pm10: range('µg/m³', 0, 2000),
  voc: range('ppb', 0, 65_000),
  noise: range('dB(A)', 20, 140),
  illuminance: range('lx', 0, 200_000),
  pressure: range('hPa', 300, 1100),
  battery: range('%', 0, 100),
  smoke: flag,
  leak: flag,
};

export const metricNames = metricName.options;

export function isMetric(key: string): key is MetricName {
  return Object.hasOwn(metricCatalog, key);
}

export type RejectReason =
  | 'too_large'
  | 'invalid_json'
  | 'not_an_object'
  | 'no_metrics'
  | 'wrong_type'
  | 'out_of_range'
  | 'unknown_metric'
  | 'bad_timestamp';

export type MetricCheck = { ok: true; value: number } | { ok: false; reason: 'wrong_type' | 'out_of_range' };

const WRONG_TYPE: MetricCheck = { ok: false, reason: 'wrong_type' };
const OUT_OF_RANGE: MetricCheck = { ok: false, reason: 'out_of_range' };
const TRUE: MetricCheck = { ok: true, value: 1 };
const FALSE: MetricCheck = { ok: true, value: 0 };

/**
 * A string, NaN or an infinity is the wrong type; 1e6 % humidity is out of range. Devices send booleans as true/false
 * and some as 1/0; stored as 1/0 either way. Plain checks rather than a zod schema per value: this runs for every
 * value of every message, and zod's result objects were 6 % of the gateway's allocation in `bench/ingest.ts`.
 */
export function checkMetric(metric: MetricName, raw: unknown): MetricCheck {
  const spec = metricCatalog[metric];
  if (spec.kind === 'boolean') return raw === true || raw === 1 ? TRUE : raw === false || raw === 0 ? FALSE : WRONG_TYPE;
  if (typeof raw !== 'number' || !Number.isFinite(raw)) return WRONG_TYPE;
  return raw < spec.min || raw > spec.max ? OUT_OF_RANGE : { ok: true, value: raw };
}

/** Values as the API shows them: booleans as booleans. */
export function displayValue(metric: MetricName, value: number): number | boolean {
  return metricCatalog[metric].kind === 'boolean' ? value === 1 : value;
}

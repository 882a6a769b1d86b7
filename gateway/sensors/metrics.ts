/**
 * The metric catalog: unit and plausible range per metric, as zod schemas. "Plausible" means physically possible
 * for an indoor school sensor: a CO2 of 90 000 ppm or a humidity of 140 % is a broken sensor, not a room.
 */
import { z } from 'zod';
import { metricName, type MetricName } from '../../config/sensors.js';

export interface MetricSpec {
  unit: string;
  kind: 'number' | 'boolean';
  schema: z.ZodType<number>;
}

const range = (min: number, max: number): z.ZodType<number> => z.number().min(min).max(max);
// Devices send booleans as true/false and some as 1/0; stored as 1/0 either way.
const flag: z.ZodType<number> = z.union([z.boolean(), z.literal(0), z.literal(1)]).transform((v) => (v === true || v === 1 ? 1 : 0));

export const metricCatalog: Record<MetricName, MetricSpec> = {
  temperature: { unit: '°C', kind: 'number', schema: range(-40, 85) },
  humidity: { unit: '%', kind: 'number', schema: range(0, 100) },
  co2: { unit: 'ppm', kind: 'number', schema: range(250, 20_000) },
  pm25: { unit: 'µg/m³', kind: 'number', schema: range(0, 1000) },
  pm10: { unit: 'µg/m³', kind: 'number', schema: range(0, 2000) },
  voc: { unit: 'ppb', kind: 'number', schema: range(0, 65_000) },
  noise: { unit: 'dB(A)', kind: 'number', schema: range(20, 140) },
  illuminance: { unit: 'lx', kind: 'number', schema: range(0, 200_000) },
  pressure: { unit: 'hPa', kind: 'number', schema: range(300, 1100) },
  battery: { unit: '%', kind: 'number', schema: range(0, 100) },
  smoke: { unit: 'bool', kind: 'boolean', schema: flag },
  leak: { unit: 'bool', kind: 'boolean', schema: flag },
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

/** zod's issue codes say why: a string or NaN is the wrong type, 1e6 % humidity is out of range. */
export function checkMetric(metric: MetricName, raw: unknown): MetricCheck {
  const r = metricCatalog[metric].schema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  const code = r.error.issues[0]?.code;
  return { ok: false, reason: code === 'too_big' || code === 'too_small' ? 'out_of_range' : 'wrong_type' };
}

/** Values as the API shows them: booleans as booleans. */
export function displayValue(metric: MetricName, value: number): number | boolean {
  return metricCatalog[metric].kind === 'boolean' ? value === 1 : value;
}

/**
 * The gateway's own sensor format on `campus/sensors/<sensorId>`:
 *   {"temperature":23.4,"humidity":41,"co2":812,"at":"2026-09-01T08:00:00+08:00"}
 * Values are in the catalog's units (°C, %, ppm, µg/m³, dB(A), lx, hPa); `at` is optional (ISO or epoch s/ms).
 */
import { metricName, type MetricName } from '../../config/sensors.js';
import type { NormalizedPayload, NormalizeResult, PayloadFamily } from '../../gateway/sensors/contract.js';
import { sensorIdOf, topicFilters } from '../../gateway/core/topics.js';

const known = new Set<string>(metricName.options);

export const nativeFamily: PayloadFamily = {
  name: 'native',
  filter: topicFilters.sensors,
  deviceFromTopic: sensorIdOf,
  normalize(json): NormalizeResult {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, reason: 'not_an_object' };
    const out: NormalizedPayload = { values: {}, unknown: [] };
    const fields = json as Record<string, unknown>;
    let metrics = 0;
    // for…in over a parsed object (own keys only, as JSON.parse makes them): no [key, value] array per field.
    for (const key in fields) {
      if (key === 'at') out.at = fields[key];
      else if (known.has(key)) {
        out.values[key as MetricName] = fields[key];
        metrics++;
      } else out.unknown.push(key);
    }
    if (metrics === 0) return { ok: false, reason: 'no_metrics' };
    return { ok: true, payload: out };
  },
};

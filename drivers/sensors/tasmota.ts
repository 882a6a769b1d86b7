/**
 * Tasmota telemetry on `tele/<device>/SENSOR`: one object per attached sensor chip, e.g.
 *   {"Time":"2026-09-01T08:00:00","BME280":{"Temperature":23.4,"Humidity":41.2,"Pressure":1008.1},
 *    "SCD30":{"CarbonDioxide":812,"Temperature":23.9},"SDS0X1":{"PM2.5":7.1,"PM10":12.4},"TempUnit":"C","PressureUnit":"hPa"}
 * `Time` is the device's local time without a zone, so it is ignored: the gateway stamps on arrival.
 * When two chips report the same quantity the first one listed wins.
 */
import type { MetricName } from '../../config/sensors.js';
import type { NormalizedPayload, NormalizeResult, PayloadFamily } from '../../gateway/sensors/contract.js';

// Maps, not object literals: a payload's field named `constructor` or `toString` must find nothing, not a prototype's
// function (it reached the metric check as a metric name and threw, once per message, logged each time).
const fields = new Map<string, MetricName>(Object.entries({
  Temperature: 'temperature',
  Humidity: 'humidity',
  CarbonDioxide: 'co2',
  eCO2: 'co2',
  'PM2.5': 'pm25',
  PM10: 'pm10',
  TVOC: 'voc',
  Illuminance: 'illuminance',
  Pressure: 'pressure',
  Noise: 'noise',
} satisfies Record<string, MetricName>));

const toHpa = new Map<string, number>([['hPa', 1], ['mmHg', 1.333_22], ['inHg', 33.863_9]]);

export const tasmotaFamily: PayloadFamily = {
  name: 'tasmota',
  filter: 'tele/+/SENSOR',
  deviceFromTopic(topic) {
    const parts = topic.split('/');
    return parts.length === 3 && parts[0] === 'tele' && parts[2] === 'SENSOR' && parts[1] ? parts[1] : null;
  },
  normalize(json): NormalizeResult {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, reason: 'not_an_object' };
    const root = json as Record<string, unknown>;
    const fahrenheit = root.TempUnit === 'F';
    const pressureFactor = typeof root.PressureUnit === 'string' ? toHpa.get(root.PressureUnit) : 1;
    const out: NormalizedPayload = { values: {}, unknown: [] };
    for (const reading of Object.values(root)) {
      if (typeof reading !== 'object' || reading === null || Array.isArray(reading)) continue; // Time, TempUnit…
      for (const [field, value] of Object.entries(reading as Record<string, unknown>)) {
        const metric = fields.get(field);
        if (!metric || out.values[metric] !== undefined) continue;
        let v = value;
        if (typeof v === 'number' && metric === 'temperature' && fahrenheit) v = Math.round(((v - 32) * 5) / 9 * 100) / 100;
        if (typeof v === 'number' && metric === 'pressure') {
          if (pressureFactor === undefined) continue; // an unknown unit: better no value than a wrong one
          v = Math.round(v * pressureFactor * 10) / 10;
        }
        out.values[metric] = v;
      }
    }
    if (Object.keys(out.values).length === 0) return { ok: false, reason: 'no_metrics' };
    return { ok: true, payload: out };
  },
};

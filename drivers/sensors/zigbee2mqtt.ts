/**
 * Zigbee2MQTT device state on `zigbee2mqtt/<friendly_name>`, e.g.
 *   {"temperature":22.9,"humidity":48.1,"co2":640,"battery":87,"linkquality":120,"voltage":2900}
 *   {"water_leak":true,"battery":100,"tamper":false}
 * The sensor is found by its configured friendly name. Names may contain "/", so the family listens on
 * `zigbee2mqtt/#` and skips the bridge's own topics and the /set, /get and /availability sub-topics.
 */
import type { MetricName } from '../../config/sensors.js';
import type { NormalizedPayload, NormalizeResult, PayloadFamily } from '../../gateway/sensors/contract.js';

/**
 * Zigbee2MQTT expose names → catalog metrics. Everything else (linkquality, voltage, tamper…) is device chatter.
 * A Map: an expose named `__proto__` or `toString` must find nothing, not a prototype's member.
 */
const exposes = new Map<string, MetricName>(Object.entries({
  temperature: 'temperature',
  humidity: 'humidity',
  co2: 'co2',
  pm25: 'pm25',
  pm10: 'pm10',
  voc: 'voc',
  noise: 'noise',
  pressure: 'pressure',
  battery: 'battery',
  smoke: 'smoke',
  water_leak: 'leak',
  illuminance: 'illuminance',
  // Older Zigbee2MQTT versions report raw `illuminance` beside `illuminance_lux`; lux wins when both come.
  illuminance_lux: 'illuminance',
} satisfies Record<string, MetricName>));

const PREFIX = 'zigbee2mqtt/';
const subTopics = new Set(['set', 'get', 'availability']);

export const zigbee2mqttFamily: PayloadFamily = {
  name: 'zigbee2mqtt',
  filter: 'zigbee2mqtt/#',
  deviceFromTopic(topic) {
    if (!topic.startsWith(PREFIX)) return null;
    const name = topic.slice(PREFIX.length);
    if (!name || name === 'bridge' || name.startsWith('bridge/')) return null;
    const last = name.slice(name.lastIndexOf('/') + 1);
    if (name.includes('/') && subTopics.has(last)) return null;
    return name;
  },
  normalize(json): NormalizeResult {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, reason: 'not_an_object' };
    const out: NormalizedPayload = { values: {}, unknown: [] };
    const obj = json as Record<string, unknown>;
    for (const [key, value] of Object.entries(obj)) {
      const metric = exposes.get(key);
      if (!metric || value === null) continue; // null: the device has not reported this expose yet
      if (key === 'illuminance' && obj.illuminance_lux !== undefined && obj.illuminance_lux !== null) continue;
      out.values[metric] = value;
    }
    if (Object.keys(out.values).length === 0) return { ok: false, reason: 'no_metrics' };
    return { ok: true, payload: out };
  },
};

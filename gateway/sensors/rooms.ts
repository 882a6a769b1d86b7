/**
 * The rooms summary: per zone, the freshest temperature, humidity and CO2 and a comfort status. Readings older than
 * the offline window do not count: a room is not "good" because its sensor said so yesterday.
 */
import type { SensorsConfig } from '../../config/sensors.js';
import type { MetricName } from './contract.js';
import { displayValue } from './metrics.js';
import type { SensorEntry } from './registry.js';
import type { LatestRow } from './storage.js';

export type Comfort = 'good' | 'fair' | 'poor';
export type ComfortMetric = 'temperature' | 'humidity' | 'co2';
const comfortMetrics: ComfortMetric[] = ['temperature', 'humidity', 'co2'];
const rank: Record<Comfort, number> = { good: 0, fair: 1, poor: 2 };

export interface RoomSummary {
  zone: string;
  sensors: string[];
  comfort: Comfort | 'unknown';
  /** Which metric made the room fair or poor, and how each one rates. */
  factors: Partial<Record<ComfortMetric, Comfort>>;
  latest: Partial<Record<MetricName, { value: number | boolean; unit: string; at: string; sensorId: string }>>;
}

export function rateComfort(bands: SensorsConfig['comfort'], metric: ComfortMetric, value: number): Comfort {
  const b = bands[metric];
  if (value >= b.good.min && value <= b.good.max) return 'good';
  if (value >= b.fair.min && value <= b.fair.max) return 'fair';
  return 'poor';
}

export function roomsSummary(
  sensors: readonly SensorEntry[],
  latest: readonly LatestRow[],
  bands: SensorsConfig['comfort'],
  now: number,
  offlineAfterIntervals: number,
): RoomSummary[] {
  const byId = new Map(sensors.map((s) => [s.id, s]));
  const rooms = new Map<string, RoomSummary>();
  for (const s of sensors) {
    let room = rooms.get(s.zone);
    if (!room) rooms.set(s.zone, (room = { zone: s.zone, sensors: [], comfort: 'unknown', factors: {}, latest: {} }));
    room.sensors.push(s.id);
  }
  const newest = new Map<string, LatestRow>();
  for (const row of latest) {
    const s = byId.get(row.sensorId);
    if (!s || now - row.at > offlineAfterIntervals * s.intervalS * 1000) continue;
    const key = `${s.zone}\0${row.metric}`;
    const prev = newest.get(key);
    if (!prev || row.at > prev.at) newest.set(key, row);
  }
  for (const [key, row] of newest) {
    const room = rooms.get(key.split('\0')[0]!)!;
    room.latest[row.metric] = { value: displayValue(row.metric, row.value), unit: row.unit, at: new Date(row.at).toISOString(), sensorId: row.sensorId };
  }
  for (const room of rooms.values()) {
    let worst: Comfort | 'unknown' = 'unknown';
    for (const m of comfortMetrics) {
      const v = room.latest[m]?.value;
      if (typeof v !== 'number') continue;
      const c = rateComfort(bands, m, v);
      room.factors[m] = c;
      if (worst === 'unknown' || rank[c] > rank[worst]) worst = c;
    }
    room.comfort = worst;
  }
  return [...rooms.values()].sort((a, b) => a.zone.localeCompare(b.zone));
}

/**
 * Hourly zone summaries for the city (cloud sync): min, max, average and count per metric over one hour in one
 * zone. Built from the hourly aggregates only, so nothing about a person can be in them.
 */
import type { HourlyZoneSummary, MetricName } from './contract.js';
import { metricCatalog } from './metrics.js';
import type { SensorRegistry } from './registry.js';
import { HOUR, type SensorStore } from './storage.js';

export function hourlyZoneSummaries(store: SensorStore, registry: SensorRegistry, hourStart: number): HourlyZoneSummary[] {
  const hour = Math.floor(hourStart / HOUR) * HOUR;
  type Acc = { min: number; max: number; sum: number; count: number };
  const zones = new Map<string, { sensors: Set<string>; metrics: Map<MetricName, Acc> }>();
  for (const row of store.hour(hour)) {
    // Sensors since removed still count, under the zone "unassigned": the city's totals must not lose them.
    const zone = registry.get(row.sensorId)?.zone ?? 'unassigned';
    let z = zones.get(zone);
    if (!z) zones.set(zone, (z = { sensors: new Set(), metrics: new Map() }));
    z.sensors.add(row.sensorId);
    const a = z.metrics.get(row.metric);
    if (!a) z.metrics.set(row.metric, { min: row.min, max: row.max, sum: row.sum, count: row.count });
    else {
      a.min = Math.min(a.min, row.min);
      a.max = Math.max(a.max, row.max);
      a.sum += row.sum;
      a.count += row.count;
    }
  }
  return [...zones.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([zone, z]) => ({
      zone,
      hour: new Date(hour).toISOString(),
      sensors: z.sensors.size,
      metrics: Object.fromEntries(
        [...z.metrics.entries()].map(([m, a]) => [
          m,
          { min: a.min, max: a.max, avg: Math.round((a.sum / a.count) * 100) / 100, count: a.count, unit: metricCatalog[m].unit },
        ]),
      ),
    }));
}

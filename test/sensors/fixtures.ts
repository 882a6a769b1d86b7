/** Shared setup for the sensors tests: a small school with one sensor per payload family. */
import type { GatewayConfigInput } from '../../config/schema.js';
import type { TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/gateway.js';

export const sensorsSchool = (extra: Record<string, unknown> = {}): GatewayConfigInput => ({
  sensors: {
    sensors: [
      { id: 's-101', zone: 'classroom-101', intervalS: 60 },
      { id: 's-102', zone: 'classroom-102', intervalS: 60 },
      { id: 'z-lab', zone: 'lab-1', intervalS: 60, source: { type: 'zigbee2mqtt', friendlyName: 'lab/air sensor' } },
      { id: 't-canteen', zone: 'canteen', intervalS: 60, source: { type: 'tasmota', device: 'canteen_air' } },
      { id: 'smoke-dorm', zone: 'dorm-a', kind: 'smoke', intervalS: 300 },
    ],
    thresholds: [
      { type: 'co2_high', metric: 'co2', zones: ['classroom-*'], above: 1500, clearAt: 1400, forS: 300, severity: 'warning' },
      { type: 'smoke_detected', metric: 'smoke', equals: true, severity: 'critical' },
      { type: 'water_leak', metric: 'leak', equals: true, severity: 'critical' },
    ],
    checkIntervalMs: 50,
    ...extra,
  },
});

export interface LatestItem {
  sensorId: string;
  zone: string;
  metric: string;
  value: number | boolean;
  unit: string;
  at: string;
}

export async function latest(gw: TestGateway, token: string, zone?: string): Promise<LatestItem[]> {
  const res = await gw.api(`/api/v1/sensors/latest${zone ? `?zone=${zone}` : ''}`, { token });
  if (res.status !== 200) throw new Error(`latest: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { items: LatestItem[] }).items;
}

/** Waits until the latest value of sensor+metric equals `value`. */
export function waitForLatest(gw: TestGateway, token: string, sensorId: string, metric: string, value: number | boolean): Promise<LatestItem> {
  return waitFor(async () => (await latest(gw, token)).find((i) => i.sensorId === sensorId && i.metric === metric && i.value === value));
}

/** A counter's value from /metrics as Prometheus shows it. */
export async function metricValue(gw: TestGateway, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await gw.api('/metrics')).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inner = line.slice(name.length + 1, line.indexOf('}'));
    const pairs = Object.fromEntries(inner.split(',').map((p) => p.split('=') as [string, string]).map(([k, v]) => [k, v.replace(/"/g, '')]));
    if (Object.entries(labels).every(([k, v]) => pairs[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

export interface AlertView {
  id: string;
  type: string;
  severity: string;
  status: string;
  zone: string | null;
  source: string;
  message: string;
  data: Record<string, unknown>;
}

export async function alerts(gw: TestGateway, token: string, type?: string): Promise<AlertView[]> {
  const res = await gw.api(`/api/v1/alerts?limit=100${type ? `&type=${type}` : ''}`, { token });
  return ((await res.json()) as { items: AlertView[] }).items;
}

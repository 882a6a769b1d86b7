/** Rooms with their current readings and a comfort colour; a 24-hour chart for the chosen room. */
import { getJson } from '../api.js';
import { asList, isObj, num, obj, str, type Json } from '../data.js';
import { h, replace } from '../dom.js';
import { lineChart, type Point } from '../chart.js';
import { fmtAgo, fmtNumber, t } from '../i18n/index.js';
import type { Page } from '../router.js';
import { badge, codeLabel, empty, errorState, fill, loading, pageHeader, panel } from '../ui.js';

const CHART_METRICS = ['co2', 'temperature', 'humidity', 'pm25', 'noise'];

interface Reading {
  metric: string;
  value: number | boolean;
  unit: string;
  at?: string;
}

/** Readings come as `{metric: {value, unit, at}}` or as a list of `{metric, value, unit, at}`. */
function readingsOf(room: Json): Reading[] {
  const r = room.readings ?? room.latest ?? room.metrics;
  const out: Reading[] = [];
  const push = (metric: string, v: unknown): void => {
    if (typeof v === 'number' || typeof v === 'boolean') out.push({ metric, value: v, unit: '' });
    else if (isObj(v) && (typeof v.value === 'number' || typeof v.value === 'boolean')) out.push({ metric, value: v.value, unit: str(v, 'unit') ?? '', at: str(v, 'at') });
  };
  if (Array.isArray(r)) for (const x of r) if (isObj(x)) push(str(x, 'metric') ?? '', x);
  else if (isObj(r)) for (const [k, v] of Object.entries(r)) push(k, v);
  return out.filter((x) => x.metric);
}

function fmtReading(r: Reading): string {
  if (typeof r.value === 'boolean') return r.value ? t('env.alarm') : t('env.clear');
  return `${fmtNumber(r.value)}${r.unit ? ` ${r.unit}` : ''}`;
}

export const environmentPage: Page = ({ root, query, navigate, every }) => {
  const rooms = h('div', { class: 'room-grid', 'data-test': 'rooms' }, loading());
  const chosen = query.get('room');
  const chart = h('div', { 'data-test': 'room-chart' });
  replace(root, pageHeader(t('env.title')), rooms, chosen ? panel(t('env.chartTitle', { room: chosen }), chart) : null);

  const loadRooms = async (): Promise<void> => {
    let list: Json[];
    try {
      list = asList(await getJson<unknown>('/sensors/rooms'), 'rooms');
    } catch (err) {
      replace(rooms, errorState(err));
      return;
    }
    if (list.length === 0) {
      replace(rooms, empty());
      return;
    }
    replace(
      rooms,
      ...list.map((room) => {
        const zone = str(room, 'zone', 'room', 'id') ?? '';
        const comfort = str(room, 'comfort', 'status') ?? str(obj(room, 'comfort'), 'status', 'level') ?? 'unknown';
        const readings = readingsOf(room);
        const newest = readings.map((r) => r.at).filter((x): x is string => !!x).sort().pop() ?? str(room, 'at', 'updatedAt');
        return h(
          'button',
          { class: `room-card comfort-${comfort} ${zone === chosen ? 'chosen' : ''}`, 'data-test': 'room', 'data-zone': zone, onclick: () => navigate(`/environment?room=${encodeURIComponent(zone)}`) },
          h('div', { class: 'room-head' }, h('strong', {}, str(room, 'name') ?? zone), badge(codeLabel('comfort', comfort), `comfort-${comfort}`)),
          h('dl', { class: 'readings' }, ...readings.flatMap((r) => [h('dt', {}, codeLabel('metric', r.metric)), h('dd', {}, fmtReading(r))])),
          newest ? h('div', { class: 'muted small' }, fmtAgo(newest)) : null,
        );
      }),
    );
  };

  const loadChart = (room: string): Promise<boolean> =>
    fill(chart, async () => {
      const to = Date.now();
      const from = to - 24 * 3600_000;
      const charts: HTMLElement[] = [];
      for (const metric of CHART_METRICS) {
        const body = await getJson<unknown>('/sensors/series', { zone: room, metric, from: new Date(from).toISOString(), to: new Date(to).toISOString(), step: '15m' });
        const points: Point[] = asList(body, 'points', 'series').map((p) => ({
          t: Date.parse(str(p, 't', 'at', 'bucket', 'time') ?? ''),
          v: num(p, 'avg', 'value', 'v') ?? Number.NaN,
        }));
        if (points.length === 0) continue;
        charts.push(h('figure', { class: 'chart-box' }, h('figcaption', {}, codeLabel('metric', metric)), lineChart(points, { label: codeLabel('metric', metric) })));
      }
      return charts.length ? charts : [empty(t('env.noSeries'))];
    });

  void loadRooms();
  every(30_000, () => void loadRooms());
  if (chosen) void loadChart(chosen);
};

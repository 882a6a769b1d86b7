/** Rooms with their current readings and a comfort colour; a 24-hour chart for the chosen room. */
import { learnPlaceNames, zoneName } from '../names.js';
import { getJson } from '../api.js';
import { asList, isObj, num, obj, str, type Json } from '../data.js';
import { h, replace } from '../dom.js';
import { lineChart, type Point } from '../chart.js';
import { fmtNumber, t } from '../i18n/index.js';
import { fmtAgo, fmtDateTime } from '../time.js';
import type { Page } from '../router.js';
import { badge, codeLabel, empty, fill, fillFrom, loading, pageHeader, panel, StaleNotice } from '../ui.js';

/** Charted first when a room has them; its other numeric metrics follow. */
const CHART_ORDER = ['co2', 'temperature', 'humidity', 'pm25', 'noise'];

interface Reading {
  metric: string;
  value: number | boolean;
  unit: string;
  at?: string;
  /** The sensor that gave this reading: its series is what the chart shows. */
  sensorId?: string;
}

/** Readings come as `{metric: {value, unit, at}}` or as a list of `{metric, value, unit, at}`. */
function readingsOf(room: Json): Reading[] {
  const r = room.readings ?? room.latest ?? room.metrics;
  const out: Reading[] = [];
  const push = (metric: string, v: unknown): void => {
    if (typeof v === 'number' || typeof v === 'boolean') out.push({ metric, value: v, unit: '' });
    else if (isObj(v) && (typeof v.value === 'number' || typeof v.value === 'boolean')) {
      out.push({ metric, value: v.value, unit: str(v, 'unit') ?? '', at: str(v, 'at'), sensorId: str(v, 'sensorId') });
    }
  };
  if (Array.isArray(r)) {
    for (const x of r) if (isObj(x)) push(str(x, 'metric') ?? '', x);
  } else if (isObj(r)) {
    for (const [k, v] of Object.entries(r)) push(k, v);
  }
  return out.filter((x) => x.metric);
}

function sensorIds(room: Json): string[] {
  return Array.isArray(room.sensors) ? room.sensors.filter((x): x is string => typeof x === 'string') : [];
}

function rankOf(metric: string): number {
  const i = CHART_ORDER.indexOf(metric);
  return i < 0 ? CHART_ORDER.length : i;
}

function fmtReading(r: Reading): string {
  if (typeof r.value === 'boolean') return r.value ? t('env.alarm') : t('env.clear');
  return `${fmtNumber(r.value)}${r.unit ? ` ${r.unit}` : ''}`;
}

export const environmentPage: Page = ({ root, query, navigate, every }) => {
  const rooms = h('div', { class: 'room-grid', 'data-test': 'rooms' }, loading());
  const chosen = query.get('room');
  const chart = h('div', { 'data-test': 'room-chart' });
  const notice = new StaleNotice();
  replace(root, pageHeader(t('env.title')), notice.el, rooms, chosen ? panel(t('env.chartTitle', { room: chosen }), chart) : null);

  let chartLoaded = false;
  // While the gateway does not answer, the rooms stay as they were under the page's notice.
  const loadRooms = (): Promise<boolean> =>
    fillFrom(
      rooms,
      notice,
      '/rooms',
      async () => {
        const [list, sensors] = await Promise.all([
          getJson<unknown>('/rooms').then((r) => asList(r, 'rooms')),
          // When each sensor was last heard from: a room without current readings says since when, not "unknown".
          getJson<unknown>('/sensors').then((r) => asList(r, 'sensors'), () => [] as Json[]),
          // Rooms are zones: their names in the console's language.
          learnPlaceNames(),
        ]);
        const seen = new Map(sensors.map((x) => [str(x, 'id') ?? '', str(x, 'lastSeenAt')]));
        return list.map((room) => ({ ...room, lastSeenAt: sensorIds(room).map((id) => seen.get(id)).filter((x): x is string => !!x).sort().pop() ?? null }));
      },
      (list) => {
        if (list.length === 0) return empty();
        const picked = list.find((r) => str(r, 'zone') === chosen);
        if (picked && !chartLoaded) {
          chartLoaded = true;
          void loadChart(picked);
        }
        return list.map((room) => {
          const zone = str(room, 'zone', 'room', 'id') ?? '';
          const comfort = str(room, 'comfort', 'status') ?? str(obj(room, 'comfort'), 'status', 'level') ?? 'unknown';
          const readings = readingsOf(room);
          const newest = readings.map((r) => r.at).filter((x): x is string => !!x).sort().pop() ?? str(room, 'at', 'updatedAt');
          return h(
            'button',
            { class: `room-card comfort-${comfort} ${zone === chosen ? 'chosen' : ''}`, 'data-test': 'room', 'data-zone': zone, onclick: () => navigate(`/environment?room=${encodeURIComponent(zone)}`) },
            h('div', { class: 'room-head' }, h('strong', { 'data-test': 'room-name' }, zoneName(zone) ?? str(room, 'name') ?? zone), badge(codeLabel('comfort', comfort), `comfort-${comfort}`)),
            h('dl', { class: 'readings' }, ...readings.flatMap((r) => [h('dt', {}, codeLabel('metric', r.metric)), h('dd', {}, fmtReading(r))])),
            newest ? h('div', { class: 'muted small' }, fmtAgo(newest)) : null,
            readings.length === 0
              ? h('p', { class: 'muted small', 'data-test': 'room-silent' }, str(room, 'lastSeenAt') ? t('env.silentSince', { at: fmtDateTime(str(room, 'lastSeenAt') ?? '') }) : t('env.silentNever'))
              : null,
          );
        });
      },
    );

  /** The last 24 hours of each numeric metric, from the sensor that reports it in this room. */
  const loadChart = (room: Json): Promise<boolean> =>
    fill(chart, async () => {
      const to = Date.now();
      const from = to - 24 * 3600_000;
      const readings = readingsOf(room)
        .filter((r) => typeof r.value === 'number' && r.sensorId)
        .sort((a, b) => rankOf(a.metric) - rankOf(b.metric));
      const charts: HTMLElement[] = [];
      for (const r of readings) {
        const series = async (step: string): Promise<Point[]> => {
          const body = await getJson<unknown>(`/sensors/${encodeURIComponent(r.sensorId ?? '')}/series`, {
            metric: r.metric,
            from: new Date(from).toISOString(),
            to: new Date(to).toISOString(),
            step,
          });
          return asList(body, 'points').map((p) => ({ t: Date.parse(str(p, 't') ?? ''), v: num(p, 'avg', 'value') ?? Number.NaN }));
        };
        // 15-minute averages; a sensor that started minutes ago has no finished bucket yet, so its raw readings.
        let points = await series('15m');
        if (points.length < 2) points = await series('raw');
        if (points.length === 0) continue;
        const label = `${codeLabel('metric', r.metric)}${r.unit ? ` (${r.unit})` : ''}`;
        charts.push(h('figure', { class: 'chart-box', 'data-test': 'chart', 'data-metric': r.metric }, h('figcaption', {}, label), lineChart(points, { label })));
      }
      return charts.length ? charts : [empty(t('env.noSeries'))];
    });

  void loadRooms();
  every(30_000, () => void loadRooms());
};

/**
 * Which table answers a series query. Short ranges come raw; longer ones from the 1-minute aggregates, long ones from
 * the hourly ones; and a range that reaches back past a table's retention moves to the next coarser table, which
 * still has the data.
 */
import { GatewayError } from '../core/errors.js';
import { DAY, HOUR, MINUTE, type AggPoint, type SensorStore } from './storage.js';

export const steps = { raw: 0, '1m': MINUTE, '5m': 5 * MINUTE, '15m': 15 * MINUTE, '1h': HOUR, '6h': 6 * HOUR, '1d': DAY } as const;
export type Step = keyof typeof steps;
export const MAX_POINTS = 10_000;

export function chooseStep(from: number, to: number, now: number, retention: { rawDays: number; minuteDays: number }): Step {
  const span = to - from;
  let step: Step = span <= 2 * HOUR ? 'raw' : span <= 12 * HOUR ? '1m' : span <= 3 * DAY ? '15m' : span <= 30 * DAY ? '1h' : '1d';
  if (step === 'raw' && from < now - retention.rawDays * DAY) step = '1m';
  if (steps[step] < HOUR && from < now - retention.minuteDays * DAY) step = '1h';
  return step;
}

export type SeriesResult =
  | { step: 'raw'; points: { t: string; value: number }[]; truncated: boolean }
  | { step: Exclude<Step, 'raw'>; points: (Omit<AggPoint, 't'> & { t: string })[]; truncated: boolean };

export function querySeries(store: SensorStore, sensorId: string, metric: string, from: number, to: number, step: Step): SeriesResult {
  if (to <= from) throw new GatewayError('bad_request', 'query.to: must be after from');
  if (step === 'raw') {
    const rows = store.raw(sensorId, metric, from, to, MAX_POINTS + 1);
    return {
      step,
      truncated: rows.length > MAX_POINTS,
      points: rows.slice(0, MAX_POINTS).map((r) => ({ t: new Date(r.t).toISOString(), value: r.value })),
    };
  }
  const stepMs = steps[step];
  if ((to - from) / stepMs > MAX_POINTS) throw new GatewayError('bad_request', `query.step: more than ${MAX_POINTS} points; choose a larger step`);
  const table = stepMs >= HOUR ? '1h' : '1m';
  const rows = store.aggregated(table, sensorId, metric, Math.floor(from / stepMs) * stepMs, to, stepMs, MAX_POINTS + 1);
  return {
    step,
    truncated: rows.length > MAX_POINTS,
    points: rows.slice(0, MAX_POINTS).map((r) => ({ ...r, avg: Math.round(r.avg * 1000) / 1000, t: new Date(r.t).toISOString() })),
  };
}

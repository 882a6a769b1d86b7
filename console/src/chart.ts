/** A small SVG line chart (one series, time on x) for the environment page; no chart library. */
import { svg } from './dom.js';
import { fmtClock } from './time.js';

export interface Point {
  t: number;
  v: number;
}

export interface ChartOptions {
  width?: number;
  height?: number;
  /** Horizontal guide lines (a threshold), drawn dashed. */
  guides?: number[];
  formatY?: (v: number) => string;
  formatX?: (t: number) => string;
  label?: string;
}

export function lineChart(points: Point[], opts: ChartOptions = {}): SVGSVGElement {
  const width = opts.width ?? 640;
  const height = opts.height ?? 200;
  const pad = { left: 48, right: 12, top: 12, bottom: 28 };
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img'});
  if (opts.label) root.setAttribute('aria-label', opts.label);
  const pts = points.filter((p) => Number.isFinite(p.v) && Number.isFinite(p.t)).sort((a, b) => a.t - b.t);
  if (pts.length === 0) return root;
  const values = [...pts.map((p) => p.v), ...(opts.guides ?? [])];
  const { lo, hi, ticks, digits } = valueAxis(Math.min(...values), Math.max(...values));
  const t0 = pts[0]!.t;
  const t1 = Math.max(pts[pts.length - 1]!.t, t0 + 1);
  const x = (t: number): number => pad.left + ((t - t0) / (t1 - t0)) * (width - pad.left - pad.right);
  const y = (v: number): number => pad.top + (1 - (v - lo) / (hi - lo)) * (height - pad.top - pad.bottom);
  const fy = opts.formatY ?? ((v: number) => v.toFixed(digits));
  const fx = opts.formatX ?? fmtClock;

  for (const v of ticks) {
    root.append(
      svg('line', { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: 'grid' }),
      svg('text', { x: pad.left - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, fy(v)),
    );
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    root.append(svg('text', { x: x(t), y: height - 8, class: 'axis', 'text-anchor': 'middle' }, fx(t)));
  }
  for (const g of opts.guides ?? []) {
    root.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: y(g), y2: y(g), class: 'guide' }));
  }
  const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  root.append(svg('path', { d, class: 'line' }));
  const last = pts[pts.length - 1]!;
  root.append(svg('circle', { cx: x(last.t), cy: y(last.v), r: 3, class: 'dot' }));
  return root;
}

/**
 * Round ticks that fit the data: distinct labels ("19.1 19.2 19.3", not "19 19 19"), as many decimals as the step
 * needs, and never below zero for data that is never negative (no "−1 lux").
 */
export function valueAxis(min: number, max: number): { lo: number; hi: number; ticks: number[]; digits: number } {
  let span = max - min;
  if (span === 0) span = Math.abs(max) > 0 ? Math.abs(max) * 0.1 : 1;
  const rough = span / 4;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= rough) ?? 10 * mag);
  let lo = Math.floor(min / step) * step;
  let hi = Math.ceil(max / step) * step;
  if (lo === hi) {
    lo -= step;
    hi += step;
  }
  if (min >= 0 && lo < 0) lo = 0;
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + (step / mag === 2.5 ? 1 : 0));
  const ticks: number[] = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Number(v.toFixed(digits + 2)));
  return { lo, hi, ticks, digits };
}

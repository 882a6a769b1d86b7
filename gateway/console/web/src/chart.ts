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
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi === lo) {
    hi += 1;
    lo -= 1;
  }
  const span = hi - lo;
  lo -= span * 0.05;
  hi += span * 0.05;
  const t0 = pts[0]!.t;
  const t1 = Math.max(pts[pts.length - 1]!.t, t0 + 1);
  const x = (t: number): number => pad.left + ((t - t0) / (t1 - t0)) * (width - pad.left - pad.right);
  const y = (v: number): number => pad.top + (1 - (v - lo) / (hi - lo)) * (height - pad.top - pad.bottom);
  const fy = opts.formatY ?? ((v: number) => v.toFixed(0));
  const fx = opts.formatX ?? fmtClock;

  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
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

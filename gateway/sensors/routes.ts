import type { Router } from 'express';
import { z } from 'zod';
import { deviceId } from '../../config/common.js';
import { metricName } from '../../config/sensors.js';
import { GatewayError } from '../core/errors.js';
import type { Guards } from '../http/guards.js';
import { instant } from '../http/dates.js';
import { parse } from '../http/validate.js';
import { displayValue } from './metrics.js';
import type { SensorsModule } from './module.js';
import { sensorInput, type SensorEntry } from './registry.js';
import { roomsSummary } from './rooms.js';
import { HOUR } from './storage.js';
import { chooseStep, querySeries, steps, type Step } from './series.js';

export const seriesQuery = z.object({
  metric: metricName,
  from: instant.optional(),
  to: instant.optional(),
  step: z.enum(Object.keys(steps) as [Step, ...Step[]]).optional(),
});
export const latestQuery = z.object({ zone: z.string().max(64).optional() });
export const idParams = z.object({ id: deviceId });
export const hourQuery = z.object({ hour: instant });

export function sensorRoutes(api: Router, guards: Guards, m: SensorsModule): void {
  const clockNow = (): number => m.now();

  const view = (s: SensorEntry, latest = m.store.latest()) => {
    const lastSeen = m.rules.lastSeenAt(s.id);
    return {
      ...s,
      status: m.rules.isOffline(s.id) ? 'offline' : lastSeen === undefined ? 'unknown' : 'online',
      lastSeenAt: lastSeen === undefined ? null : new Date(lastSeen).toISOString(),
      latest: Object.fromEntries(
        latest
          .filter((r) => r.sensorId === s.id)
          .map((r) => [r.metric, { value: displayValue(r.metric, r.value), unit: r.unit, at: new Date(r.at).toISOString() }]),
      ),
    };
  };

  api.get('/sensors', (_req, res) => {
    const latest = m.store.latest();
    res.json({ items: m.registry.all().map((s) => view(s, latest)) });
  });

  api.get('/sensors/latest', (req, res) => {
    const { zone } = parse(latestQuery, req.query, 'query');
    const items = [];
    for (const r of m.store.latest()) {
      const s = m.registry.get(r.sensorId);
      if (!s || (zone !== undefined && s.zone !== zone)) continue;
      items.push({ sensorId: r.sensorId, zone: s.zone, metric: r.metric, value: displayValue(r.metric, r.value), unit: r.unit, at: new Date(r.at).toISOString() });
    }
    res.json({ items });
  });

  api.get('/sensors/zones/hourly', (req, res) => {
    const { hour } = parse(hourQuery, req.query, 'query');
    res.json({ items: m.hourlyZoneSummaries(Math.floor(hour / HOUR) * HOUR) });
  });

  api.post('/sensors', guards.role('admin'), (req, res) => {
    const body = parse(sensorInput, req.body);
    if (m.registry.get(body.id)) throw new GatewayError('conflict', `sensor ${body.id} already exists; PUT /sensors/${body.id} to change it`);
    res.status(201).json(view(m.registry.upsert(body).sensor));
  });

  api.get('/sensors/:id', (req, res) => {
    res.json(view(m.registry.require(parse(idParams, req.params, 'params').id)));
  });

  api.put('/sensors/:id', guards.role('admin'), (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    const body = parse(sensorInput, { ...(req.body as object), id });
    const { sensor, created } = m.registry.upsert(body);
    res.status(created ? 201 : 200).json(view(sensor));
  });

  api.delete('/sensors/:id', guards.role('admin'), (req, res) => {
    m.registry.remove(parse(idParams, req.params, 'params').id);
    res.status(204).end();
  });

  api.get('/sensors/:id/series', (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    m.registry.require(id);
    const q = parse(seriesQuery, req.query, 'query');
    const t = clockNow();
    const to = q.to ?? t;
    const from = q.from ?? to - 24 * HOUR;
    const step = q.step ?? chooseStep(from, to, t, m.config.retention);
    res.json({ sensorId: id, metric: q.metric, from: new Date(from).toISOString(), to: new Date(to).toISOString(), ...querySeries(m.store, id, q.metric, from, to, step) });
  });

  api.get('/rooms', (_req, res) => {
    const cfg = m.config;
    res.json({ items: roomsSummary(m.registry.all(), m.store.latest(), cfg.comfort, clockNow(), cfg.offlineAfterIntervals) });
  });
}

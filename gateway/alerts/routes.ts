import type { Router } from 'express';
import { z } from 'zod';
import type { Guards } from '../http/guards.js';
import { sessionOf } from '../http/guards.js';
import { parse } from '../http/validate.js';
import { alertStatusSchema, severitySchema, type AlertService } from './alerts.js';

const csv = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(item))
    .optional();

const listQuery = z.object({
  status: csv(alertStatusSchema),
  severity: csv(severitySchema),
  type: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'an alert id').optional(),
});

const noteBody = z.object({ note: z.string().max(1000).optional() });
const idParams = z.object({ id: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'an alert id') });

export function alertRoutes(api: Router, guards: Guards, alerts: AlertService): void {
  api.get('/alerts', (req, res) => {
    res.json(alerts.list(parse(listQuery, req.query, 'query')));
  });
  api.get('/alerts/:id', (req, res) => {
    res.json(alerts.get(parse(idParams, req.params, 'params').id));
  });
  api.post('/alerts/:id/ack', guards.role('admin', 'security'), (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    res.json(alerts.acknowledge(id, sessionOf(res).username, parse(noteBody, req.body).note));
  });
  api.post('/alerts/:id/resolve', guards.role('admin', 'security'), (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    res.json(alerts.resolve(id, sessionOf(res).username, parse(noteBody, req.body).note));
  });
}

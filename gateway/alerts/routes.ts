import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import { z } from 'zod';
import type { Guards } from '../http/guards.js';
import { sessionOf } from '../http/guards.js';
import { parse } from '../http/validate.js';
import { jsonFor, visibilityOf } from '../http/visibility.js';
import { alertStatusSchema, severitySchema, type AlertService } from './alerts.js';

const csv = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(item))
    .optional();

export const listQuery = z.object({
  status: csv(alertStatusSchema),
  severity: csv(severitySchema),
  type: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'an alert id').optional(),
});

/** Security staff report what they see (a stranger at the fence, a fight): a manual alert. */
export const raiseBody = z.object({
  type: z.string().regex(/^[a-z][a-z0-9_]{1,47}$/, 'lower-case letters, digits and "_"').default('manual'),
  severity: severitySchema.default('warning'),
  message: z.string().min(1).max(500),
  accessPoint: z.string().max(64).optional(),
  zone: z.string().max(64).optional(),
});

export const noteBody = z.object({ note: z.string().max(1000).optional() });
/** A filtered list acknowledged at once: at most one page of the list (500). */
export const bulkAckBody = z.object({
  ids: z.array(z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'an alert id')).min(1).max(500),
  note: z.string().max(1000).optional(),
});
export const idParams = z.object({ id: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'an alert id') });

/** The ids of the places the school knows now: the config's, and zones of cameras and sensors added at run time. */
export interface KnownPlaces {
  accessPoints: ReadonlySet<string>;
  zones: ReadonlySet<string>;
}

/**
 * A manual alert names its place by the school's own ids: the place goes to the city and into the console's filters,
 * and free text there (a pupil's name, a phone number) would leave the school with it (docs/privacy.md).
 */
function raiseBodyAt(places: () => KnownPlaces) {
  return raiseBody.superRefine((b, ctx) => {
    const known = places();
    if (b.accessPoint !== undefined && !known.accessPoints.has(b.accessPoint)) {
      ctx.addIssue({ code: 'custom', path: ['accessPoint'], message: 'not an access point of this school (access.accessPoints)' });
    }
    if (b.zone !== undefined && !known.zones.has(b.zone)) ctx.addIssue({ code: 'custom', path: ['zone'], message: 'not a zone of this school' });
  });
}

export function alertRoutes(api: Router, guards: Guards, alerts: AlertService, places: () => KnownPlaces): void {
  const raiseHere = raiseBodyAt(places);
  // An alert's data may name a card (`uid`) or a sale (`amountFen`): for viewers left out, as in the live stream.
  api.get('/alerts', (req, res) => {
    res.type('json').send(jsonFor(visibilityOf(sessionOf(res).role), alerts.list(parse(listQuery, req.query, 'query'))));
  });
  api.post('/alerts', guards.role('admin', 'security'), (req, res) => {
    const body = parse(raiseHere, req.body);
    const by = sessionOf(res).username;
    // Each manual report is its own alert: the key includes a timestamp so two reports never fold together.
    const alert = alerts.raise({ ...body, source: `user:${by}`, dedupKey: `manual:${randomUUID()}` });
    res.status(201).json(alert);
  });
  api.post('/alerts/ack', guards.role('admin', 'security'), (req, res) => {
    const { ids, note } = parse(bulkAckBody, req.body);
    const out = alerts.acknowledgeMany(ids, sessionOf(res).username, note);
    res.json({ acknowledged: out.acknowledged.map((a) => a.id), skipped: out.skipped });
  });
  api.get('/alerts/:id', (req, res) => {
    res.type('json').send(jsonFor(visibilityOf(sessionOf(res).role), alerts.get(parse(idParams, req.params, 'params').id)));
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

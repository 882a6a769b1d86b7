/**
 * Admin API: the delivery log, guardians and their consent, an emergency broadcast. Numbers are masked in every
 * answer except `GET …/guardians?reveal=true` (the admin's edit form).
 */
import type { Router } from 'express';
import { z } from 'zod';
import { MESSAGE_KINDS } from '../../config/notify.js';
import { notFound } from '../core/errors.js';
import { sessionOf, type Guards } from '../http/guards.js';
import { parse } from '../http/validate.js';
import { guardianInput, guardianPatch } from '../guardians/schema.js';
import type { NotifyModule } from './module.js';
import { OUTBOX_STATUSES } from './outbox.js';

export const listQuery = z.object({
  person: z.string().min(1).max(64).optional(),
  event: z.enum(MESSAGE_KINDS).optional(),
  channel: z.string().max(32).optional(),
  status: z.enum(OUTBOX_STATUSES).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const emergencyText = z.string().trim().min(1).max(300);
export const emergencyBody = z
  .strictObject({
    text: emergencyText.optional(),
    texts: z.strictObject({ zh: emergencyText.optional(), ko: emergencyText.optional(), en: emergencyText.optional() }).optional(),
    lockdownAt: z.number().int().positive().optional(),
  })
  .refine((b) => b.text !== undefined || Object.values(b.texts ?? {}).some((v) => v !== undefined), { message: 'give text, or texts per language' });
export const personParams = z.object({ externalId: z.string().min(1).max(64) });
export const guardianParams = personParams.extend({ id: z.coerce.number().int().positive() });
export const testBody = z.strictObject({ externalId: z.string().min(1).max(64), guardianId: z.number().int().positive() });
export const consentBody = z.strictObject({ consent: z.boolean() });
export const revealQuery = z.object({ reveal: z.enum(['true', 'false', '1', '0']).optional().transform((v) => v === 'true' || v === '1') });

export function notifyRoutes(api: Router, guards: Guards, n: NotifyModule): void {
  const admin = guards.role('admin');
  const personId = (externalId: string): number => {
    const r = n.personIdOf(externalId);
    if (r === undefined) throw notFound(`person ${externalId}`);
    return r;
  };

  api.get('/notifications', admin, (req, res) => {
    const q = parse(listQuery, req.query, 'query');
    const pid = q.person !== undefined ? personId(q.person) : undefined;
    res.json({ items: n.outbox.list({ personId: pid, event: q.event, channel: q.channel, status: q.status, limit: q.limit, before: q.before }) });
  });

  api.post('/notifications/emergency', guards.role('admin', 'security'), (req, res) => {
    res.status(202).json(n.broadcastEmergency(parse(emergencyBody, req.body), sessionOf(res).username));
  });
  api.post('/notifications/test', admin, (req, res) => {
    const b = parse(testBody, req.body);
    res.status(202).json(n.sendTest(personId(b.externalId), b.guardianId, sessionOf(res).username));
  });
  api.get('/notifications/emergency', guards.role('admin', 'security'), (_req, res) => {
    res.json(n.emergencyPlan());
  });

  api.get('/people/:externalId/guardians', admin, (req, res) => {
    const p = parse(personParams, req.params, 'params');
    const { reveal } = parse(revealQuery, req.query, 'query');
    const id = personId(p.externalId);
    res.json({ guardians: n.guardians.list(id, { reveal }), consentHistory: n.guardians.consentHistory(id) });
  });
  api.post('/people/:externalId/guardians', admin, (req, res) => {
    const p = parse(personParams, req.params, 'params');
    res.status(201).json(n.guardians.add(personId(p.externalId), parse(guardianInput, req.body), sessionOf(res).username));
  });
  api.patch('/people/:externalId/guardians/:id', admin, (req, res) => {
    const p = parse(guardianParams, req.params, 'params');
    res.json(n.guardians.update(personId(p.externalId), p.id, parse(guardianPatch, req.body), sessionOf(res).username));
  });
  api.put('/people/:externalId/guardians/:id/consent', admin, (req, res) => {
    const p = parse(guardianParams, req.params, 'params');
    const b = parse(consentBody, req.body);
    res.json(n.guardians.setConsent(personId(p.externalId), p.id, b.consent, sessionOf(res).username));
  });
  api.delete('/people/:externalId/guardians/:id', admin, (req, res) => {
    const p = parse(guardianParams, req.params, 'params');
    n.guardians.remove(personId(p.externalId), p.id);
    res.status(204).end();
  });
}

/** Taps, access points and lockdown under /api/v1. */
import type { Router } from 'express';
import { z } from 'zod';
import type { GatewayConfig } from '../../config/schema.js';
import { doorReaderId } from '../../config/controllers.js';
import { sessionOf, type Guards } from '../http/guards.js';
import { parse } from '../http/validate.js';
import { jsonFor, visibilityOf } from '../http/visibility.js';
import type { LockdownService } from './lockdown.js';
import type { TapsStore } from './taps-store.js';

export const tapsQuery = z.object({
  readerId: z.string().max(64).optional(),
  accessPoint: z.string().max(64).optional(),
  personId: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'a tap id').optional(),
});
export const accessPointsQuery = z.object({ taps: z.coerce.number().int().min(0).max(50).default(5) });
export const lockdownBody = z.object({ reason: z.string().trim().max(500).optional() });

export function accessRoutes(api: Router, guards: Guards, deps: { config: GatewayConfig; taps: TapsStore; lockdown: LockdownService }): void {
  const { config, taps, lockdown } = deps;

  api.get('/taps', (req, res) => {
    const q = parse(tapsQuery, req.query, 'query');
    const items = taps.latest(q);
    // Amounts, balances and card UIDs only for the desk (gateway/http/visibility.ts).
    res.type('json').send(jsonFor(visibilityOf(sessionOf(res).role), { items, nextBefore: items.length === q.limit ? items[items.length - 1]!.id : null }));
  });

  api.get('/access-points', (req, res) => {
    const { taps: n } = parse(accessPointsQuery, req.query, 'query');
    const items = config.access.accessPoints.map((ap) => ({
      ...ap,
      readers: [
        ...config.readers.filter((r) => r.accessPoint === ap.id).map((r) => ({ id: r.id, name: r.name ?? null, direction: r.direction ?? null, driver: r.driver.type as string })),
        // Doors of door controllers are readers too (drivers/controllers).
        ...config.controllers.devices.flatMap((d) =>
          Object.entries(d.doors)
            .filter(([, door]) => door?.accessPoint === ap.id)
            .map(([n, door]) => ({ id: doorReaderId(d.id, n), name: door?.name ?? null, direction: door?.direction ?? null, driver: 'uhppote' })),
        ),
      ],
      latestTaps: n > 0 ? taps.latest({ accessPoint: ap.id, limit: n }) : [],
    }));
    res.type('json').send(jsonFor(visibilityOf(sessionOf(res).role), { items, zones: config.zones, lockdown: lockdown.state() }));
  });

  api.get('/lockdown', (_req, res) => {
    res.json(lockdown.state());
  });

  api.post('/lockdown', guards.role('admin', 'security'), (req, res) => {
    const { reason } = parse(lockdownBody, req.body);
    res.json(lockdown.start(reason, sessionOf(res).username));
  });

  api.delete('/lockdown', guards.role('admin', 'security'), (_req, res) => {
    res.json(lockdown.end(sessionOf(res).username));
  });
}

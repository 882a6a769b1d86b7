/** The controllers' HTTP routes: their state, a full card sync on demand, and remote opening of doors. */
import type { Router } from 'express';
import { z } from 'zod';
import { doorReaderId } from '../../../config/controllers.js';
import { GatewayError, notFound } from '../../../gateway/core/errors.js';
import type { Logger } from '../../../gateway/core/logger.js';
import { sessionOf, type Guards } from '../../../gateway/http/guards.js';
import { parse } from '../../../gateway/http/validate.js';
import { visibilityOf } from '../../../gateway/http/visibility.js';
import type { DeviceRuntime } from './device.js';
import { RateLimitedError, type RemoteOpenLimit } from './open-limit.js';

export const openBody = z.object({ reason: z.string().trim().min(1).max(500), readerId: z.string().max(80).optional() });

export interface ControllerRoutesDeps {
  devices: readonly DeviceRuntime[];
  /** `full`: admin and security, who see the card numbers a plan left out; a viewer gets their count. */
  info: (d: DeviceRuntime, full: boolean) => object;
  /** The access points in the config, by id. */
  aps: ReadonlyMap<string, unknown>;
  log: Logger;
  now: () => number;
  /** Remote opens each user may make (controllers.remoteOpensPerMinute). */
  openLimit: RemoteOpenLimit;
  /** Records a door opened remotely (who, why, which doors) and tells the bus. */
  emit: (e: { accessPoint: string; readers: string[]; by: string; reason: string; at: number }) => void;
}

export function controllerRoutes(api: Router, guards: Guards, { devices, info, aps, log, now, openLimit, emit }: ControllerRoutesDeps): void {
  const byId = (id: string): DeviceRuntime => {
    const d = devices.find((x) => x.id === id);
    if (!d) throw notFound(`controller ${id}`);
    return d;
  };
  const anyone = guards.role('admin', 'security', 'viewer');
  api.get('/controllers', anyone, (_req, res) => {
    const full = visibilityOf(sessionOf(res).role) === 'full';
    res.json({ items: devices.map((d) => info(d, full)) });
  });
  api.get('/controllers/:id', anyone, (req, res) => {
    res.json(info(byId(String(req.params.id)), visibilityOf(sessionOf(res).role) === 'full'));
  });
  api.post('/controllers/:id/sync', guards.role('admin'), (req, res) => {
    const d = byId(String(req.params.id));
    if (d.health !== 'online') throw new GatewayError('unavailable', `controller ${d.id} is ${d.health}`);
    void d.sync.request('full');
    res.status(202).json(info(d, true)); // admin only
  });
  api.post('/access-points/:id/open', guards.role('admin', 'security'), async (req, res) => {
    const apId = String(req.params.id);
    const { reason, readerId } = parse(openBody, req.body);
    if (!aps.has(apId)) throw notFound(`access point ${apId}`);
    const doors = devices.flatMap((d) =>
      Object.entries(d.config.doors)
        .filter(([n, door]) => door?.accessPoint === apId && (!readerId || readerId === doorReaderId(d.id, n)))
        .map(([n]) => ({ d, n: Number(n), readerId: doorReaderId(d.id, n) })),
    );
    if (doors.length === 0) throw new GatewayError('not_found', `no controller door serves access point ${apId}${readerId ? ` as ${readerId}` : ''}`);
    const by = sessionOf(res).username;
    try {
      openLimit.take(by, apId);
    } catch (err) {
      if (err instanceof RateLimitedError) res.setHeader('retry-after', String(err.retryAfterS));
      throw err;
    }
    const results = await Promise.all(doors.map(async ({ d, n, readerId: r }) => ({ readerId: r, ok: await d.openDoor(n).catch(() => false) })));
    const opened = results.filter((r) => r.ok).map((r) => r.readerId);
    log.info({ accessPoint: apId, by, reason, opened, failed: results.filter((r) => !r.ok).map((r) => r.readerId) }, 'door opened remotely');
    if (opened.length === 0) {
      // A typed error, so the console can say "the controller did not answer" in the user's language rather than
      // take a bare 503 for the gateway itself being unreachable.
      throw new GatewayError('controller_offline', `no controller door of ${apId} answered: ${results.map((r) => r.readerId).join(', ')}`, 503);
    }
    emit({ accessPoint: apId, readers: opened, by, reason, at: now() });
    res.json({ accessPoint: apId, results });
  });
}

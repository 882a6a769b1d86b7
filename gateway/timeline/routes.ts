/** GET /api/v1/timeline: the merged history, newest first, for every signed-in role (viewers see less). */
import type { Router } from 'express';
import { z } from 'zod';
import type { Guards } from '../http/guards.js';
import { sessionOf } from '../http/guards.js';
import { parse } from '../http/validate.js';
import { jsonFor, visibilityOf, type Visibility } from '../http/visibility.js';
import { CURSOR, type Timeline, type TimelineItem } from './timeline.js';

const id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_.:-]+$/, 'an id (letters, digits, _ . : -)');

export const timelineQuery = z.object({
  before: z.string().regex(CURSOR, 'a cursor from an earlier page (`nextBefore` or an item\'s `cursor`)').optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  camera: id.optional(),
  accessPoint: id.optional(),
  person: id.optional(),
});

/**
 * Viewers: no card UIDs, amounts or balances (jsonFor), no snapshots (admin and security only), no card number in
 * an alert's message ("Lost card 04A1… of …"), which is written for the desk, and no remote open's reason.
 */
function forViewer(item: TimelineItem): TimelineItem {
  // A remote open's reason is the guard's free text ("let 王芳's father in"): the desk's, not a viewer's.
  if (item.kind === 'door') return { ...item, reason: null };
  if (item.kind !== 'alert') return item;
  const message = item.uid ? item.alert.message.split(item.uid).join('•••') : item.alert.message;
  return { ...item, alert: { ...item.alert, message, snapshotIds: [] } };
}

export function shown(visibility: Visibility, page: { items: TimelineItem[]; nextBefore: string | null }): string {
  if (visibility === 'full') return jsonFor(visibility, { ...page, snapshotsHidden: false });
  return jsonFor(visibility, { items: page.items.map(forViewer), nextBefore: page.nextBefore, snapshotsHidden: true });
}

export function timelineRoutes(api: Router, _guards: Guards, timeline: Timeline): void {
  api.get('/timeline', (req, res) => {
    const q = parse(timelineQuery, req.query, 'query');
    res.type('json').send(shown(visibilityOf(sessionOf(res).role), timeline.page(q)));
  });
}

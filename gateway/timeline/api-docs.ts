/** The timeline route (routes.ts) for the OpenAPI document. */
import { ANY_ROLE, type RouteDoc } from '../http/route-docs.js';
import { timelineQuery } from './routes.js';

export const timelineRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/timeline',
    tag: 'timeline',
    roles: ANY_ROLE,
    summary: 'Taps, alerts, camera events, lockdown changes and remote door opens in time order',
    description:
      'Newest first. Page back with `before` = the last page\'s `nextBefore` (keyset on time, kind and id: nothing lost or repeated). ' +
      '`camera`, `accessPoint` and `person` (external id) narrow it; lockdown changes stay in every view. ' +
      'Viewers get no `uid`, `amount` or `balance` and no snapshot ids.',
    query: timelineQuery,
    responses: { 200: { description: '`{items, nextBefore, snapshotsHidden}`' } },
  },
];

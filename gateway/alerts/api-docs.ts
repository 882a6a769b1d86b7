/** The alert routes (routes.ts) for the OpenAPI document. */
import { ANY_ROLE, type RouteDoc } from '../http/route-docs.js';
import { bulkAckBody, idParams, listQuery, noteBody, raiseBody } from './routes.js';

const staff = ['admin', 'security'] as const;
const tag = 'alerts';

export const alertRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/alerts', tag, roles: ANY_ROLE, summary: 'Alerts, newest first', description: 'Viewers get alerts without `data`.', query: listQuery, responses: { 200: { description: '`{items, nextBefore}`' } } },
  { method: 'post', path: '/alerts', tag, roles: staff, summary: 'Report an alert by hand', body: raiseBody, responses: { 201: { description: 'the alert' } } },
  { method: 'post', path: '/alerts/ack', tag, roles: staff, summary: 'Acknowledge many alerts', body: bulkAckBody, responses: { 200: { description: '`{acknowledged, skipped}`' } } },
  { method: 'get', path: '/alerts/:id', tag, roles: ANY_ROLE, summary: 'One alert', params: idParams, responses: { 200: { description: 'the alert' }, 404: { description: 'no such alert' } } },
  { method: 'post', path: '/alerts/:id/ack', tag, roles: staff, summary: 'Acknowledge an alert', params: idParams, body: noteBody, responses: { 200: { description: 'the alert' }, 409: { description: 'already acknowledged or resolved' } } },
  { method: 'post', path: '/alerts/:id/resolve', tag, roles: staff, summary: 'Resolve an alert', params: idParams, body: noteBody, responses: { 200: { description: 'the alert' }, 409: { description: 'already resolved, or the lockdown alert while the lockdown is on' } } },
];

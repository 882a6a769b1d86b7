/** The taps, access point and lockdown routes (routes.ts) for the OpenAPI document. */
import { ANY_ROLE, type RouteDoc } from '../http/route-docs.js';
import { accessPointsQuery, lockdownBody, tapsQuery } from './routes.js';

const tag = 'access';

export const accessRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/taps', tag, roles: ANY_ROLE, summary: 'Latest taps', description: 'Viewers get taps without `uid` and amounts.', query: tapsQuery, responses: { 200: { description: '`{items, nextBefore}`' } } },
  { method: 'get', path: '/access-points', tag, roles: ANY_ROLE, summary: 'Access points with readers and latest taps', query: accessPointsQuery, responses: { 200: { description: '`{items, lockdown}`' } } },
  { method: 'get', path: '/lockdown', tag, roles: ANY_ROLE, summary: 'Lockdown state', responses: { 200: { description: 'the lockdown state' } } },
  { method: 'post', path: '/lockdown', tag, roles: ['admin', 'security'], summary: 'Start a lockdown', body: lockdownBody, responses: { 200: { description: 'the lockdown state' } } },
  { method: 'delete', path: '/lockdown', tag, roles: ['admin', 'security'], summary: 'End the lockdown', responses: { 200: { description: 'the lockdown state' } } },
];

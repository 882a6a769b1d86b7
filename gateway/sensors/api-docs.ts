/** The sensor routes (routes.ts) for the OpenAPI document. */
import { ANY_ROLE, type RouteDoc } from '../http/route-docs.js';
import { sensorInput } from './registry.js';
import { hourQuery, idParams, latestQuery, seriesQuery } from './routes.js';

const tag = 'sensors';
const admin = ['admin'] as const;

export const sensorRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/sensors', tag, roles: ANY_ROLE, summary: 'Sensors with status and latest readings', responses: { 200: { description: '`{items}`' } } },
  { method: 'get', path: '/sensors/latest', tag, roles: ANY_ROLE, summary: 'Latest reading of every metric', query: latestQuery, responses: { 200: { description: '`{items}`' } } },
  { method: 'get', path: '/sensors/zones/hourly', tag, roles: ANY_ROLE, summary: "Zones' summaries for one hour", query: hourQuery, responses: { 200: { description: '`{items}`' } } },
  { method: 'post', path: '/sensors', tag, roles: admin, summary: 'Add a sensor', body: sensorInput, responses: { 201: { description: 'the sensor' }, 409: { description: 'the id is taken' } } },
  { method: 'get', path: '/sensors/:id', tag, roles: ANY_ROLE, summary: 'One sensor', params: idParams, responses: { 200: { description: 'the sensor' }, 404: { description: 'no such sensor' } } },
  { method: 'put', path: '/sensors/:id', tag, roles: admin, summary: 'Add or change a sensor', description: 'The body is a sensor; its `id` comes from the path.', params: idParams, body: sensorInput.omit({ id: true }), responses: { 200: { description: 'the sensor' }, 201: { description: 'the sensor, created' } } },
  { method: 'delete', path: '/sensors/:id', tag, roles: admin, summary: 'Remove a sensor', params: idParams, responses: { 204: { description: 'removed' } } },
  { method: 'get', path: '/sensors/:id/series', tag, roles: ANY_ROLE, summary: "One metric's time series", params: idParams, query: seriesQuery, responses: { 200: { description: 'the series' } } },
  { method: 'get', path: '/rooms', tag, roles: ANY_ROLE, summary: 'Rooms and their comfort', responses: { 200: { description: '`{items}`' } } },
];

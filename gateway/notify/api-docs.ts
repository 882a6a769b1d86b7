/** The notification and guardian routes (routes.ts) for the OpenAPI document. */
import type { RouteDoc } from '../http/route-docs.js';
import { guardianInput, guardianPatch } from '../guardians/schema.js';
import { consentBody, emergencyBody, guardianParams, listQuery, personParams, revealQuery, testBody } from './routes.js';

const admin = ['admin'] as const;
const staff = ['admin', 'security'] as const;

export const notifyRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/notifications', tag: 'notifications', roles: admin, summary: 'The delivery log', query: listQuery, responses: { 200: { description: '`{items}`' } } },
  { method: 'post', path: '/notifications/emergency', tag: 'notifications', roles: staff, summary: 'Broadcast an emergency message to guardians', body: emergencyBody, responses: { 202: { description: 'queued' }, 409: { description: 'the same text went out in the last 10 minutes, or the lockdown was announced already' }, 429: { description: 'ten broadcasts in the last hour' } } },
  { method: 'post', path: '/notifications/test', tag: 'notifications', roles: admin, summary: 'Send a test message to one guardian', body: testBody, responses: { 202: { description: 'queued' } } },
  { method: 'get', path: '/notifications/emergency', tag: 'notifications', roles: staff, summary: 'The lockdown to announce, if any', responses: { 200: { description: '`{lockdown}`' } } },
  { method: 'get', path: '/people/:externalId/guardians', tag: 'guardians', roles: admin, summary: "A person's guardians and consent history", description: 'Numbers masked unless `reveal=true`.', params: personParams, query: revealQuery, responses: { 200: { description: '`{guardians, consentHistory}`' } } },
  { method: 'post', path: '/people/:externalId/guardians', tag: 'guardians', roles: admin, summary: 'Add a guardian', params: personParams, body: guardianInput, responses: { 201: { description: 'the guardian' } } },
  { method: 'patch', path: '/people/:externalId/guardians/:id', tag: 'guardians', roles: admin, summary: 'Change a guardian', params: guardianParams, body: guardianPatch, responses: { 200: { description: 'the guardian' } } },
  { method: 'put', path: '/people/:externalId/guardians/:id/consent', tag: 'guardians', roles: admin, summary: "Record a guardian's consent", params: guardianParams, body: consentBody, responses: { 200: { description: 'the guardian' } } },
  { method: 'delete', path: '/people/:externalId/guardians/:id', tag: 'guardians', roles: admin, summary: 'Remove a guardian', params: guardianParams, responses: { 204: { description: 'removed' } } },
];

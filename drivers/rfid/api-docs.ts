/** The card reader routes (module.ts) for the OpenAPI document. */
import { ANY_ROLE, type RouteDoc } from '../../gateway/http/route-docs.js';

export const readerRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/readers', tag: 'readers', roles: ANY_ROLE, summary: 'Card readers and their state', responses: { 200: { description: '`{readers}`' } } },
  { method: 'get', path: '/readers/:id', tag: 'readers', roles: ANY_ROLE, summary: 'One card reader', responses: { 200: { description: 'the reader' }, 404: { description: 'no such reader' } } },
];

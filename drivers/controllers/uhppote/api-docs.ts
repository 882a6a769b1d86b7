/** The door controller routes (module.ts) for the OpenAPI document. */
import { ANY_ROLE, type RouteDoc } from '../../../gateway/http/route-docs.js';
import { openBody } from './module.js';

const tag = 'controllers';

export const controllerRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/controllers', tag, roles: ANY_ROLE, summary: 'Door controllers and their state', responses: { 200: { description: '`{items}`' } } },
  { method: 'get', path: '/controllers/:id', tag, roles: ANY_ROLE, summary: 'One door controller', responses: { 200: { description: 'the controller' }, 404: { description: 'no such controller' } } },
  { method: 'post', path: '/controllers/:id/sync', tag, roles: ['admin'], summary: "Send the controller its full card list now", responses: { 202: { description: 'the controller' }, 503: { description: 'the controller is not online' } } },
  { method: 'post', path: '/access-points/:id/open', tag, roles: ['admin', 'security'], summary: "Open an access point's doors remotely", body: openBody, responses: { 200: { description: '`{accessPoint, results}`: which doors opened' }, 503: { description: 'no door opened' }, 429: { description: 'this user has made `controllers.remoteOpensPerMinute` opens; `Retry-After` says in how many seconds the next is allowed' }, 404: { description: 'no such access point, or no controller door serves it' } } },
];

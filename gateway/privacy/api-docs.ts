/** The erasure route (module.ts) for the OpenAPI document. */
import type { RouteDoc } from '../http/route-docs.js';
import { erasureRequestSchema } from './erasure.js';
import { idParams } from './module.js';

export const privacyRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/people/:id/erase',
    tag: 'privacy',
    roles: ['admin'],
    summary: "Erase a person's personal data",
    params: idParams,
    body: erasureRequestSchema,
    responses: { 200: { description: 'what was erased, under a pseudonym, and `warnings`: a card of someone else to reissue, since it ends with the same low bytes as an erased card and door controllers read only those (it is held off them until then)' }, 404: { description: 'no such person' } },
  },
];

/** The cloud sync routes (routes.ts) for the OpenAPI document. */
import { z } from 'zod';
import { ANY_ROLE, type RouteDoc } from '../gateway/http/route-docs.js';
import { envelopeSchema } from './contract.js';
import { demoCommandBody, sinkQuery } from './routes.js';

const tag = 'sync';
const noSink = { 404: { description: 'no demo city sink: the gateway sends to a real upstream' } };

export const syncRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/sync', tag, roles: ANY_ROLE, summary: 'Sync status: outbox, transport, last results', responses: { 200: { description: 'the status' } } },
  {
    method: 'get',
    path: '/sync/demo-sink',
    tag,
    roles: ANY_ROLE,
    summary: 'What the demo city sink received',
    query: sinkQuery,
    responses: { 200: { description: 'the envelopes received', schema: z.object({ receivedTotal: z.number().int(), envelopes: z.array(envelopeSchema) }) }, ...noSink },
  },
  { method: 'post', path: '/sync/demo-sink/commands', tag, roles: ['admin', 'security'], summary: 'The demo city issues a command', body: demoCommandBody, responses: { 202: { description: '`{id}`' }, ...noSink } },
];

/** REST routes of cloud sync, under /api/v1. */
import type { Router } from 'express';
import { ulid } from 'ulid';
import { z } from 'zod';
import { GatewayError } from '../gateway/core/errors.js';
import { sessionOf, type Guards } from '../gateway/http/guards.js';
import { parse } from '../gateway/http/validate.js';
import { commandTypes, streamSchema } from './contract.js';
import type { CloudSync } from './sync.js';

export const sinkQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  stream: streamSchema.optional(),
});

export const demoCommandBody = z.object({
  id: z.string().min(1).max(128).optional(),
  type: z.enum(commandTypes),
  params: z.record(z.string(), z.unknown()).default({}),
});

export function syncRoutes(api: Router, guards: Guards, sync: CloudSync): void {
  const anyone = guards.role('admin', 'security', 'viewer');

  api.get('/sync', anyone, (_req, res) => {
    res.json(sync.status());
  });

  const sinkOf = () => {
    const sink = sync.demoSink();
    if (!sink) throw new GatewayError('not_found', 'no demo city sink: this gateway sends to a real upstream (or none is configured)');
    return sink;
  };

  api.get('/sync/demo-sink', anyone, (req, res) => {
    const q = parse(sinkQuery, req.query, 'query');
    const sink = sinkOf();
    res.json({ receivedTotal: sink.receivedTotal, envelopes: sink.received(q.limit, q.stream) });
  });

  /**
   * The simulated city issues a command to this school (demo only), e.g. {"type":"lockdown.start"}. Signed with the
   * demo key, a command does what the city may: no more than the caller may do here (a card's block and unblock are
   * the admin's on the REST API), or security staff went past the card rules through the demo city.
   */
  api.post('/sync/demo-sink/commands', guards.role('admin', 'security'), (req, res) => {
    const body = parse(demoCommandBody, req.body);
    if (body.type.startsWith('card.') && sessionOf(res).role !== 'admin') throw new GatewayError('forbidden', 'card commands through the demo city are the admin\'s, as blocking a card is');
    const sink = sinkOf();
    const id = body.id ?? ulid();
    sink.issueCommand({ id, schoolId: sync.schoolId, type: body.type, issuedAt: new Date().toISOString(), params: body.params });
    res.status(202).json({ id });
  });
}

/** `POST /api/v1/people/import?cardFormat=…` with the CSV file as the body (admin). */
import express, { type Router } from 'express';
import { Counter } from 'prom-client';
import { z } from 'zod';
import type { GatewayContext } from '../core/context.js';
import { GatewayError } from '../core/errors.js';
import { sessionOf, type Guards } from '../http/guards.js';
import { parse } from '../http/validate.js';
import { cardFormatSchema } from '../people/schema.js';
import { importRoster } from './import.js';
import { guardianKeyOf } from '../guardians/store.js';

const importQuery = z.object({
  cardFormat: cardFormatSchema.default('hex'),
  dryRun: z.enum(['true', 'false', '1', '0']).optional().transform((v) => v === 'true' || v === '1'),
});

export function rosterRoutes(api: Router, guards: Guards, ctx: GatewayContext): void {
  const rows = new Counter({
    name: 'campus_roster_rows_total',
    help: 'Roster rows imported through the API, by outcome (accepted, rejected)',
    labelNames: ['outcome'],
    registers: [ctx.metrics],
  });
  api.post(
    '/people/import',
    guards.role('admin'),
    // The bytes as sent: the importer detects UTF-8 or GB18030 itself, whatever charset the header claims.
    express.raw({ type: ['text/csv', 'text/plain', 'application/csv', 'application/vnd.ms-excel', 'application/octet-stream'], limit: '20mb' }),
    (req, res) => {
      const q = parse(importQuery, req.query, 'query');
      if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
        throw new GatewayError('bad_request', 'body: send the CSV file as the request body with content-type text/csv');
      }
      const report = importRoster(req.body, {
        db: ctx.db,
        clock: ctx.clock,
        cardFormat: q.cardFormat,
        scheduleGroups: ctx.config.access.scheduleGroups.map((g) => g.id),
        dryRun: q.dryRun,
        bus: ctx.bus,
        by: sessionOf(res).username,
        guardianKey: guardianKeyOf(ctx.config),
      });
      rows.inc({ outcome: 'accepted' }, report.accepted.length);
      rows.inc({ outcome: 'rejected' }, report.rejected.length);
      ctx.log.info({ committed: report.committed, rows: report.rows, rejected: report.rejected.length }, 'roster import');
      // 422: the file was understood but not applied; the report says why, row by row.
      res.status(report.committed || q.dryRun && report.rejected.length === 0 && report.errors.length === 0 ? 200 : 422).json(report);
    },
  );
}

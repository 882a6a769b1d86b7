/** `POST /api/v1/people/import?cardFormat=…` with the CSV file as the body (admin). */
import type { Router } from 'express';
import { Counter } from 'prom-client';
import { z } from 'zod';
import type { GatewayContext } from '../module/context.js';
import { GatewayError } from '../core/errors.js';
import { sessionOf, type Guards } from '../http/guards.js';
import { rawUpload } from '../http/raw-upload.js';
import { parse } from '../http/validate.js';
import { cardFormatSchema } from '../people/schema.js';
import { importRoster, type RosterReport } from './import.js';
import { guardianKeyOf } from '../guardians/store.js';

export const importQuery = z.object({
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
  const { maxBytes } = ctx.config.roster;
  const rawBody = rawUpload({
    limitBytes: maxBytes,
    types: ['text/csv', 'text/plain', 'application/csv', 'application/vnd.ms-excel', 'application/octet-stream'],
    tooLarge: `the file is larger than ${maxBytes} bytes (roster.maxBytes)`,
  });
  let receiving = false;
  let running: Promise<RosterReport> | undefined;
  api.post(
    '/people/import',
    guards.role('admin'),
    // One import at a time, refused before its body is read: two would hold two files in memory and check each
    // against a roster the other is changing. Busy from the request's start until its answer is sent (or its client
    // has gone), and while its import runs (which a client hanging up does not stop).
    (_req, res, next) => {
      if (receiving || running) throw new GatewayError('conflict', 'another roster import is running: try again when it has finished');
      receiving = true;
      res.once('close', () => (receiving = false));
      next();
    },
    // The bytes as sent: the importer detects UTF-8 or GB18030 itself, whatever charset the header claims.
    rawBody,
    async (req, res) => {
      const q = parse(importQuery, req.query, 'query');
      if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
        throw new GatewayError('bad_request', 'body: send the CSV file as the request body with content-type text/csv');
      }
      running = importRoster(req.body, {
        db: ctx.db,
        clock: ctx.clock,
        cardFormat: q.cardFormat,
        scheduleGroups: ctx.config.access.scheduleGroups.map((g) => g.id),
        limits: ctx.config.roster,
        dryRun: q.dryRun,
        bus: ctx.bus,
        by: sessionOf(res).username,
        guardianKey: guardianKeyOf(ctx.config),
      });
      let report: RosterReport;
      try {
        report = await running;
      } finally {
        running = undefined;
      }
      rows.inc({ outcome: 'accepted' }, report.accepted.length);
      rows.inc({ outcome: 'rejected' }, report.rejected.length);
      ctx.log.info({ committed: report.committed, rows: report.rows, written: report.written, rejected: report.rejected.length, errors: report.errors.length }, 'roster import');
      // 422: the file was understood but not applied; the report says why, row by row.
      res.status(report.committed || q.dryRun && report.rejected.length === 0 && report.errors.length === 0 ? 200 : 422).json(report);
    },
  );
}

/**
 * Personal data over time: retention pruning (retention.ts) and the erasure of a person who left (erasure.ts), with
 * `POST /api/v1/people/:id/erase` for admins. docs/privacy.md says what is kept where and for how long.
 */
import { Counter } from 'prom-client';
import { z } from 'zod';
import type { GatewayContext, GatewayModule } from '../module/context.js';
import { sessionOf, type Guards } from '../http/guards.js';
import { parse } from '../http/validate.js';
import type { Router } from 'express';
import type { Clock } from '../core/clock.js';
import type { ChunkedPruner } from '../storage/chunked-prune.js';
import { erasePerson, erasureRequestSchema, type ErasureResult } from './erasure.js';
import { personalDataPruner, type RetentionLabel } from './retention.js';

export { privacyMigrations } from './erasure.js';

export const idParams = z.object({ id: z.coerce.number().int().positive() });

export class PrivacyModule implements GatewayModule {
  readonly name = 'privacy';
  readonly pruner: ChunkedPruner<RetentionLabel>;
  private readonly erasures: Counter;

  constructor(
    private readonly ctx: GatewayContext,
    /** What retention deletes by: the wall clock only while something trustworthy confirms it (storage/retention-clock.ts). */
    private readonly retentionClock: Clock & { save(): void },
  ) {
    const pruned = new Counter({
      name: 'campus_retention_pruned_rows_total',
      help: 'Rows of personal data deleted past their retention, by table',
      labelNames: ['table'],
      registers: [ctx.metrics],
    });
    this.erasures = new Counter({ name: 'campus_person_erasures_total', help: 'People erased', registers: [ctx.metrics] });
    this.pruner = personalDataPruner(ctx.db, retentionClock, ctx.config.retention, ctx.config.school.timezone, (table, n) => pruned.inc({ table }, n), (err) =>
      ctx.log.error({ err }, 'retention pruning failed; it runs again at the next interval'),
    );
  }

  start(): void {
    this.pruner.start();
  }

  async stop(): Promise<void> {
    await this.pruner.stop();
    // The retention clock's time, and the first start's unconfirmed wait, kept for the next start: the pruner reads it
    // only hourly, so the time run since its last pass was lost at every restart (an attacker review:
    // a restart every two hours stretched the first day's wait to two).
    this.retentionClock.save();
  }

  erase(personId: number, by: string, reason: string): ErasureResult {
    const { cards, ...result } = erasePerson(this.ctx.db, this.ctx.clock, personId, by, reason);
    this.erasures.inc();
    // The log names the pseudonym, never the person.
    this.ctx.log.info({ pseudonym: result.pseudonym, by, counts: result.counts }, 'person erased');
    for (const w of result.warnings) this.ctx.log.warn({ pseudonym: result.pseudonym }, w);
    // Door controllers hold copies of the cards: without this, a card of a child who left kept opening doors until the
    // nightly reconciliation. The blocklist terminals read is published again too.
    const at = this.ctx.clock.now();
    for (const c of cards) {
      this.ctx.bus.emit('card.changed', { uid: c.uid, personId, externalId: result.pseudonym, status: 'erased', previous: c.status, by, at });
    }
    return result;
  }

  routes(api: Router, guards: Guards): void {
    api.post('/people/:id/erase', guards.role('admin'), (req, res) => {
      const { id } = parse(idParams, req.params, 'params');
      const { reason } = parse(erasureRequestSchema, req.body);
      res.json(this.erase(id, sessionOf(res).username, reason));
    });
  }
}

import type { ComponentHealth, GatewayContext, GatewayModule } from '../module/context.js';
import type { Guards } from '../http/guards.js';
import type { Router } from 'express';
import type { Logger } from '../core/logger.js';
import { Wallet, type CheckReport } from './ledger.js';
import { walletRoutes } from './routes.js';

export { walletMigrations } from './schema.js';
export { Wallet } from './ledger.js';

/** The demo student the README taps at the canteen. */
export const DEMO_WALLET_STUDENT = 'S20250001';
const DEMO_TOPUPS_FEN = [3000, 5000, 8000, 10000, 15000, 20000, 30000];

/** The canteen wallet as a gateway module; `wallet` is the `WalletPort` the access domain debits. */
export class WalletModule implements GatewayModule {
  readonly name = 'wallet';
  readonly wallet: Wallet;
  private readonly log: Logger;

  constructor(private readonly ctx: GatewayContext) {
    this.log = ctx.log.child({ component: 'wallet' });
    this.wallet = new Wallet({
      db: ctx.db,
      clock: ctx.clock,
      timezone: ctx.config.school.timezone,
      limits: ctx.config.access.wallet,
      log: this.log,
      metrics: ctx.metrics,
      alerts: ctx.alerts,
    });
  }

  /**
   * Gives the README's student ¥50.00 and every other demo student a balance of their own. People are looked
   * up by external id, so it does nothing harmful when the roster is not there (yet).
   */
  seedDemo(): void {
    if (!this.ctx.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'persons'`).get()) {
      this.log.warn('no roster in this gateway; no demo balances');
      return;
    }
    const hasEntries = this.ctx.db.prepare('SELECT 1 FROM wallet_entries WHERE person_id = ? LIMIT 1');
    const students = this.ctx.db.prepare(`SELECT id, external_id FROM persons WHERE role = 'student' ORDER BY id`).all() as {
      id: number;
      external_id: string;
    }[];
    if (!students.some((s) => s.external_id === DEMO_WALLET_STUDENT)) {
      this.log.warn({ externalId: DEMO_WALLET_STUDENT }, 'demo student not in the roster; the demo wallet starts empty for them');
    }
    let seeded = 0;
    for (const s of students) {
      if (hasEntries.get(s.id)) continue;
      const fenAmount = s.external_id === DEMO_WALLET_STUDENT ? 5000 : DEMO_TOPUPS_FEN[s.id % DEMO_TOPUPS_FEN.length]!;
      this.wallet.topUp(s.external_id, fenAmount, 'demo opening balance', 'demo', false); // one summary line below
      seeded++;
    }
    this.log.info({ seeded }, 'seeded demo wallet balances');
  }

  start(): void {
    this.verify();
  }

  /** Runs the ledger check; a mismatch is a critical alert, never silently adjusted. */
  verify(): CheckReport {
    const report = this.wallet.check();
    if (!report.ok) {
      this.log.error({ mismatches: report.mismatches.slice(0, 20), terminalMismatches: report.terminalMismatches.slice(0, 20) },
        'wallet ledger check failed');
      this.ctx.alerts.raise({
        type: 'wallet_ledger_mismatch',
        severity: 'critical',
        source: 'wallet',
        message: `Wallet ledger check failed: ${report.mismatches.length} balance(s) and ${report.terminalMismatches.length} terminal transaction(s) disagree`,
        data: { mismatches: report.mismatches.length, terminalMismatches: report.terminalMismatches.length },
      });
    }
    return report;
  }

  routes(api: Router, guards: Guards): void {
    walletRoutes(api, guards, this.wallet, () => this.verify());
  }

  health(): ComponentHealth {
    const r = this.wallet.lastCheckReport;
    if (!r || r.ok) return { ok: true };
    return { ok: false, detail: `ledger check failed at ${r.checkedAt}`, code: 'ledger_check_failed', params: { at: r.checkedAt } };
  }
}

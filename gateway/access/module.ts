/**
 * The access domain as one gateway module: people and cards, roster import, tap decisions and lockdown.
 * The wallet is handed in (the wallet module's `WalletPort`), so access never imports the wallet.
 */
import type { Router } from 'express';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../module/context.js';
import { GatewayError } from '../core/errors.js';
import type { Guards } from '../http/guards.js';
import { BLOCKLIST_TOPIC, blocklistMigrations, BlocklistPublisher, CardBlocklist } from '../people/blocklist.js';
import { seedDemoPeople } from '../people/demo.js';
import { peopleRoutes } from '../people/routes.js';
import { PeopleFinder } from '../people/search.js';
import type { Card } from '../people/schema.js';
import { peopleMigrations, PeopleStore } from '../people/store.js';
import { holdersVersionMigrations } from '../people/holders-version.js';
import { rosterRoutes } from '../roster/routes.js';
import type { Migration } from '../storage/db.js';
import { AccessEngine, type AccessWallet } from './engine.js';
import { lockdownMigrations, LockdownService, type LockdownState } from './lockdown.js';
import { OfflineSales } from './offline.js';
import { accessRoutes } from './routes.js';
import { tapsMigrations, TapsStore } from './taps-store.js';

/** Migrations 10–13: persons and cards, taps, lockdowns, the card blocklist's versions. */
export const accessMigrations: Migration[] = [...peopleMigrations, ...holdersVersionMigrations, ...tapsMigrations, ...lockdownMigrations, ...blocklistMigrations];

/** What the city (through cloud sync) may order the school to do. */
export interface AccessCommands {
  startLockdown(reason: string | undefined, by: string): LockdownState;
  endLockdown(by: string): LockdownState;
  /** Blocks every active or lost card of the person; returns the cards changed. */
  blockCardByExternalId(externalId: string, by: string): Card[];
  /** Makes the person's blocked (and lost) cards active again; returns the cards changed. */
  unblockCardByExternalId(externalId: string, by: string): Card[];
  lockdownState(): LockdownState;
}

export class AccessModule implements GatewayModule {
  readonly name = 'access';
  readonly people: PeopleStore;
  readonly taps: TapsStore;
  readonly lockdown: LockdownService;
  readonly engine: AccessEngine;
  readonly commands: AccessCommands;
  readonly blocklist: CardBlocklist;
  private readonly blocklistPublisher: BlocklistPublisher;
  private readonly offlineSales: OfflineSales;

  constructor(
    private readonly ctx: GatewayContext,
    wallet: AccessWallet | null,
  ) {
    this.people = new PeopleStore(ctx.db, ctx.clock, ctx.bus);
    this.taps = new TapsStore(ctx.db);
    this.lockdown = new LockdownService(ctx.db, ctx.bus, ctx.alerts, ctx.clock, ctx.log);
    this.engine = new AccessEngine(ctx, this.people, this.taps, this.lockdown, wallet);
    this.blocklist = new CardBlocklist(ctx.db);
    this.offlineSales = new OfflineSales(ctx, this.people, this.blocklist, wallet);
    this.blocklistPublisher = new BlocklistPublisher(this.blocklist, {
      publish: (list) => ctx.mqtt.publish(BLOCKLIST_TOPIC, list, { qos: 1, retain: true }),
      onCardChanged: (fn) => ctx.bus.on('card.changed', fn),
      log: ctx.log.child({ component: 'blocklist' }),
    });
    const cardsOf = (externalId: string): Card[] => {
      const person = this.people.personByExternalId(externalId);
      if (!person) throw new GatewayError('not_found', `person ${externalId} not found`);
      return this.people.cardsOf(person.id);
    };
    this.commands = {
      startLockdown: (reason, by) => this.lockdown.start(reason, by),
      endLockdown: (by) => this.lockdown.end(by),
      lockdownState: () => this.lockdown.state(),
      blockCardByExternalId: (externalId, by) =>
        cardsOf(externalId)
          .filter((c) => c.status === 'active' || c.status === 'lost')
          .map((c) => this.people.setCardStatus(c.uid, 'blocked', by)),
      unblockCardByExternalId: (externalId, by) =>
        cardsOf(externalId)
          .filter((c) => c.status === 'blocked' || c.status === 'lost')
          .map((c) => this.people.setCardStatus(c.uid, 'active', by)),
    };
  }

  seedDemo(): void {
    const n = seedDemoPeople(this.ctx.db, new Date(this.ctx.clock.now()).toISOString());
    this.ctx.log.info({ people: n }, 'seeded the demo roster');
  }

  start(): void {
    this.engine.start();
    this.offlineSales.start();
    this.blocklistPublisher.start();
  }

  async stop(): Promise<void> {
    this.blocklistPublisher.stop();
    this.offlineSales.stop();
    await this.engine.stop();
  }

  routes(api: Router, guards: Guards): void {
    // Import before /people/:id so that the literal path is never read as an id.
    rosterRoutes(api, guards, this.ctx);
    peopleRoutes(api, guards, this.people, new PeopleFinder(this.ctx.db, this.people), this.blocklist, this.ctx.config.access.scheduleGroups.map((g) => g.id));
    accessRoutes(api, guards, { config: this.ctx.config, taps: this.taps, lockdown: this.lockdown });
  }

  health(): ComponentHealth {
    return this.lockdown.active ? { ok: true, detail: 'lockdown active', code: 'lockdown_active' } : { ok: true };
  }
}

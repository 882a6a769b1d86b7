/** Campus maps: floor plans with the gateway's devices pinned on them (docs/console.md, Campus map). */
import { join } from 'node:path';
import type { Router } from 'express';
import type { Guards } from '../http/guards.js';
import type { GatewayContext, GatewayModule } from '../module/context.js';
import { mapRoutes, type DeviceExists } from './routes.js';
import { MapStore } from './store.js';

export { mapMigrations } from './store.js';

export class MapsModule implements GatewayModule {
  readonly name = 'maps';
  readonly store: MapStore;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly deviceExists: DeviceExists,
  ) {
    this.store = new MapStore(ctx.db, join(ctx.config.dataDir, 'maps'), ctx.clock);
  }

  start(): void {
    const { removed } = this.store.reconcile();
    if (removed) this.ctx.log.info({ removed }, 'removed map pictures without a map');
  }

  routes(api: Router, guards: Guards): void {
    mapRoutes(api, guards, { store: this.store, maxImageBytes: this.ctx.config.maps.maxImageBytes, deviceExists: this.deviceExists });
  }
}

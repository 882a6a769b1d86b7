/**
 * The timeline module: one read model over the access, alerts and cameras domains (gateway/timeline/timeline.ts).
 * It writes nothing; compose.ts hands it the database and what it needs of the cameras.
 */
import type { Router } from 'express';
import type { Guards } from '../http/guards.js';
import type { GatewayContext, GatewayModule } from '../module/context.js';
import { timelineRoutes } from './routes.js';
import { Timeline } from './timeline.js';

export class TimelineModule implements GatewayModule {
  readonly name = 'timeline';
  readonly timeline: Timeline;

  constructor(ctx: GatewayContext, cameraCoverage: (id: string) => { accessPoints: string[]; zones: string[] } | null) {
    this.timeline = new Timeline({ db: ctx.db, alert: (id) => ctx.alerts.get(id), cameraCoverage });
  }

  routes(api: Router, guards: Guards): void {
    timelineRoutes(api, guards, this.timeline);
  }
}

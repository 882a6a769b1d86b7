/**
 * What the composition root hands a module (GatewayContext), built on real parts for a test of one domain alone:
 * the given database and config, an event bus, a prom-client registry, the alert service and the user store. The
 * test chooses the writer's batching, the clock and what stands in for the broker.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { GatewayConfig } from '../../config/schema.js';
import { AlertService } from '../../gateway/alerts/alerts.js';
import { UserStore } from '../../gateway/auth/users.js';
import { EventBus } from '../../gateway/core/bus.js';
import { systemClock, type Clock } from '../../gateway/core/clock.js';
import type { MqttPort } from '../../gateway/core/mqtt-port.js';
import type { GatewayContext } from '../../gateway/module/context.js';
import { BatchWriter, type BatchWriterOptions } from '../../gateway/storage/batch-writer.js';
import type { Database } from '../../gateway/storage/db.js';

export interface ModuleContextOptions {
  config: GatewayConfig;
  db: Database;
  mqtt: MqttPort;
  writer: Pick<BatchWriterOptions, 'maxSize' | 'maxDelayMs'>;
  clock?: Clock;
}

/** The database needs the alert and user migrations. Close `ctx.writer` before the database. */
export function moduleContext(opts: ModuleContextOptions): GatewayContext {
  const { db, config } = opts;
  const clock = opts.clock ?? systemClock;
  const bus = new EventBus();
  return {
    config,
    demo: false,
    log: pino({ level: process.env.TEST_LOG ?? 'silent' }),
    clock,
    db,
    writer: new BatchWriter(db, opts.writer),
    bus,
    mqtt: opts.mqtt,
    alerts: new AlertService(db, bus, clock, 0),
    users: new UserStore(db, clock, 3_600_000),
    metrics: new Registry(),
  };
}

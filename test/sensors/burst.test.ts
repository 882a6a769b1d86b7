/**
 * The sensors domain alone (real SQLite file, bus, alert service and payload families; test/helpers/module-context.ts)
 * taking a burst of messages the way the embedded broker hands them over: many in one turn of the event loop, as when
 * hundreds of sensors' sockets all have data at once.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { sensorPayloadFamilies } from '../../drivers/sensors/index.js';
import { alertMigrations } from '../../gateway/alerts/alerts.js';
import { userMigrations } from '../../gateway/auth/users.js';
import type { MessageHandler, MqttPort } from '../../gateway/core/mqtt-port.js';
import { SensorsModule, sensorMigrations } from '../../gateway/sensors/module.js';
import { RAW_VALUE_COUNT } from '../../gateway/sensors/raw-rows.js';
import { openDatabase } from '../../gateway/storage/db.js';
import { metaMigrations } from '../../gateway/storage/meta.js';
import { tempDir, waitFor } from '../helpers/gateway.js';
import { moduleContext } from '../helpers/module-context.js';
import { sensorsSchool } from './fixtures.js';

describe('a burst of sensor messages', () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('is committed while it arrives, not held in memory until the turn of the event loop ends', async () => {
    const dataDir = tempDir('campus-sensor-burst-');
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const file = join(dataDir, 'gateway.db');
    const db = openDatabase(file, [...metaMigrations, ...userMigrations, ...alertMigrations, ...sensorMigrations]);
    // What the broker would deliver to: the domain's subscriptions, by filter.
    const handlers = new Map<string, MessageHandler>();
    const mqtt: MqttPort = {
      publish: () => Promise.resolve(),
      subscribe: (filter, handler) => {
        handlers.set(filter, handler);
        return Promise.resolve(() => Promise.resolve(void handlers.delete(filter)));
      },
    };
    // The gateway's own writer settings: commits at the end of the turn, 500 writes at most per batch.
    const config = validateConfig({ ...sensorsSchool(), dataDir, log: { level: 'silent' } }, 'test');
    const ctx = moduleContext({ config, db, mqtt, writer: { maxSize: 500, maxDelayMs: 0 } });
    cleanups.push(() => {
      ctx.writer.close();
      db.close();
    });
    const sensors = new SensorsModule(ctx, { families: sensorPayloadFamilies, retentionClock: ctx.clock });
    await sensors.start();
    cleanups.push(() => sensors.stop());
    const native = handlers.get('campus/sensors/+');
    if (!native) throw new Error(`no subscription to campus/sensors/+ (got ${[...handlers.keys()].join(', ')})`);

    // 400 messages of 3 readings each, all in this turn.
    for (let i = 0; i < 400; i++) {
      native(`campus/sensors/s-10${1 + (i % 2)}`, Buffer.from(JSON.stringify({ temperature: 21, humidity: 40, co2: 600 + i })));
    }
    // Still in the same turn: another connection already sees the full batch (the first 1,000 readings and the rest
    // of the message that reached it).
    const reader = new Database(file, { readonly: true });
    cleanups.push(() => void reader.close());
    const stored = (): number => (reader.prepare(`SELECT SUM(${RAW_VALUE_COUNT}) AS n FROM sensor_readings`).get() as { n: number }).n;
    expect(stored()).toBe(1002);

    // The rest commits after the turn, as before: nothing is lost.
    await waitFor(() => stored() === 1200);
  });
});

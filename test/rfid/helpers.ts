/**
 * A readers module on real parts (SQLite file, event bus, prom-client registry) without the rest of the gateway,
 * for tests that must hand the module what the composition root does not: a serial binding, a seeded random,
 * a manual clock. Tests that need the broker use startTestGateway instead.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../config/load.js';
import type { GatewayConfigInput } from '../../config/schema.js';
import { createReadersModule, type ReadersModule, type ReadersModuleOptions } from '../../drivers/rfid/module.js';
import { alertMigrations } from '../../gateway/alerts/alerts.js';
import { userMigrations } from '../../gateway/auth/users.js';
import type { Clock } from '../../gateway/core/clock.js';
import type { GatewayContext } from '../../gateway/module/context.js';
import { metaMigrations } from '../../gateway/storage/meta.js';
import type { MqttPort } from '../../gateway/core/mqtt-port.js';
import type { Tap } from '../../gateway/core/taps.js';
import { openDatabase } from '../../gateway/storage/db.js';
import { tempDir } from '../helpers/gateway.js';
import { moduleContext } from '../helpers/module-context.js';

/** These tests have no broker; a module that tried to use one would fail loudly here. */
const noBroker: MqttPort = {
  publish: () => Promise.reject(new Error('no broker in this test')),
  subscribe: () => Promise.reject(new Error('no broker in this test')),
};

export interface ReadersHarness {
  ctx: GatewayContext;
  module: ReadersModule;
  taps: Tap[];
  dataDir: string;
  metric(name: string, labels: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startReaders(
  config: GatewayConfigInput,
  opts: Partial<ReadersModuleOptions> & { clock?: Clock; dataDir?: string } = {},
): Promise<ReadersHarness> {
  const dataDir = opts.dataDir ?? tempDir('campus-readers-');
  // The access points the readers under test are bound to (the config must name them); decisions are not under test.
  const access = config.access ?? { accessPoints: (['main-gate', 'lab-1', 'canteen'] as const).map((id) => ({ id, name: id, kind: id === 'canteen' ? 'canteen' as const : 'door' as const })) };
  const cfg = validateConfig({ ...config, access, dataDir, log: { level: 'silent' } }, 'test');
  const db = openDatabase(join(dataDir, 'gateway.db'), [...metaMigrations, ...userMigrations, ...alertMigrations]);
  const ctx = moduleContext({ config: cfg, db, mqtt: noBroker, clock: opts.clock, writer: { maxSize: 100, maxDelayMs: 5 } });
  const { bus, metrics } = ctx;
  const taps: Tap[] = [];
  bus.on('tap.received', (t) => taps.push(t));
  const module = createReadersModule(ctx, { cardPool: () => [], ...opts });
  await module.start?.();
  return {
    ctx,
    module,
    taps,
    dataDir,
    async metric(name, labels) {
      const m = (await metrics.getMetricsAsJSON()).find((x) => x.name === name);
      const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => String((x.labels as Record<string, unknown>)[k]) === val));
      return v?.value ?? 0;
    },
    async close() {
      await module.stop?.();
      ctx.writer.close();
      db.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

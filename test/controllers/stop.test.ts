/**
 * The controllers module stopping while a controller's answer is on its way: nothing it reads after stop() may reach
 * the bus or the database, which closes right after the modules stop. On real parts (SQLite file, event bus, the fake
 * controllers on loopback) without the rest of the gateway, so the test decides when the database closes.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { controllerMigrations, createControllersModule, type ControllersModule } from '../../drivers/controllers/uhppote/module.js';
import { alertMigrations } from '../../gateway/alerts/alerts.js';
import { userMigrations } from '../../gateway/auth/users.js';
import type { MqttPort } from '../../gateway/core/mqtt-port.js';
import { openDatabase, type Database } from '../../gateway/storage/db.js';
import { metaMigrations } from '../../gateway/storage/meta.js';
import { moduleContext } from '../helpers/module-context.js';
import type { FakeUhppote } from './fake-uhppote.js';
import { controllersConfig, startFakes, tempDir, waitFor, wg26 } from './helpers.js';

const noBroker: MqttPort = {
  publish: () => Promise.reject(new Error('no broker in this test')),
  subscribe: () => Promise.reject(new Error('no broker in this test')),
};

let fakes: FakeUhppote[] = [];
let db: Database | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  for (const f of fakes) await f.stop();
  db?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it('a swipe read while the module stops is left for the next start: nothing reaches the bus after stop()', async () => {
  // Before the fix, stop() did not wait for the event pump: the swipe answered during stop went on the bus after the
  // module had let go of its decisions, and its 15 s wait for one then read the closed database, an uncaught TypeError
  // ("The database connection is not open") that failed whichever test file was running then.
  const [a, b] = await startFakes();
  fakes = [a, b];
  dataDir = tempDir('campus-controllers-stop-');
  const access = { accessPoints: [{ id: 'main-gate', name: 'main-gate', kind: 'gate' as const }] };
  const config = validateConfig({ ...controllersConfig(a, b), access, dataDir, log: { level: 'silent' } }, 'test');
  db = openDatabase(join(dataDir, 'gateway.db'), [...metaMigrations, ...userMigrations, ...alertMigrations, ...controllerMigrations]);
  const ctx = moduleContext({ config, db, mqtt: noBroker, writer: { maxSize: 100, maxDelayMs: 5 } });
  const controllers: ControllersModule = createControllersModule(ctx, { holders: () => [], lockdownActive: () => false, holdersVersion: () => 0 });
  await controllers.start?.();
  // The first poll (reconnect and baseline) is over once a second status read comes.
  await waitFor(() => (a.requests.get('get-status') ?? 0) >= 2, 5000, 10);
  let stopping = false;
  const late: string[] = [];
  ctx.bus.on('tap.received', (t) => {
    if (stopping) late.push(t.readerId);
  });
  a.holding.add('get-event');
  a.swipe(wg26('0A1B2C3D'), 1);
  await waitFor(() => a.held.length > 0, 5000, 5);
  // The answer arrives and the client waits out its settle time (20 ms, for a forged second reply) as stop() begins.
  a.release();
  await new Promise((r) => setTimeout(r, 5));
  stopping = true;
  await controllers.stop?.();
  ctx.writer.close();
  await new Promise((r) => setTimeout(r, 50)); // past the settle time: an answer still believed would be taken now
  expect(late).toEqual([]);
});

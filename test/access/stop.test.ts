/**
 * The gateway stopping while a tap is being decided: the readers stop taking taps first, and the decision in flight
 * is finished, stored and answered before the database closes. On the demo gateway (real broker, SQLite file).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { captureLog } from '../helpers/log-capture.js';
import { startTestGateway } from '../helpers/gateway.js';

it('a canteen payment whose PIN is being checked as the gateway stops is paid and stored before the database closes', async () => {
  // Before the fix, stop() only unsubscribed the engine: the PIN check (scrypt, off the event loop) outlived the
  // database, the debit then ran on the closed connection, and the tap was lost with "tap not answered".
  const { log, text } = captureLog();
  const gw = await startTestGateway({
    log,
    // Lunchtime on a school day in Shanghai, so the day's amount is this test's own.
    clock: new ManualClock(Date.UTC(2026, 8, 1, 4, 10, 0)),
    config: { access: { wallet: { pinAboveDailyFen: 500 } } },
  });
  const admin = await gw.login();
  expect((await gw.api('/api/v1/wallet/S20250001/pin', { method: 'PUT', token: admin, json: { pin: '4321' } })).status).toBe(200);
  const pos = await gw.mqttClient();
  const received = new Promise<void>((resolve) => gw.ctx.bus.on('tap.received', () => resolve()));
  await pos.publishAsync('campus/readers/demo-canteen-1/tap', JSON.stringify({ uid: '0A1B2C3D', amount: 1000, seq: 7, pin: '4321' }), { qos: 1 });
  await received; // the engine has it, and checks its PIN now
  await gw.stop();

  const db = new Database(join(gw.dataDir, 'gateway.db'), { readonly: true });
  try {
    expect(db.prepare(`SELECT granted, reason, balance FROM taps WHERE reader_id = 'demo-canteen-1' AND seq = 7`).get()).toEqual({
      granted: 1, reason: 'ok', balance: 4000,
    });
    expect(db.prepare(`SELECT outcome, balance_fen FROM wallet_terminal_txns WHERE reader_id = 'demo-canteen-1' AND seq = 7`).get()).toEqual({
      outcome: 'applied', balance_fen: 4000,
    });
  } finally {
    db.close();
  }
  expect(text()).not.toContain('tap not answered');
});

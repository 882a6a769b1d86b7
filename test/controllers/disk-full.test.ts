/**
 * Door controllers on a gateway whose database refuses to record alerts (a full disk, played by triggers that fail
 * every write to the alerts table as SQLite fails a write when the disk is full). The gateway's own held-open timer
 * and the door-mode watch raise alerts outside any request: nothing may end the process, and the doors are still
 * looked after.
 */
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allMigrations } from '../../gateway/compose.js';
import { openDatabase } from '../../gateway/storage/db.js';
import { DOOR_MODE, encodeRequest } from '../../drivers/controllers/uhppote/messages.js';
import { FakeUhppote } from './fake-uhppote.js';
import { controllers, controllersConfig, settled, startFakes, startTestGateway, tempDir, waitFor, wg26, type TestGateway } from './helpers.js';

const STUDENT = '0A1B2C3D';

let a: FakeUhppote;
let b: FakeUhppote;
let gw: TestGateway;
let token: string;
const crashes: unknown[] = [];
const onCrash = (err: unknown): void => void crashes.push(err);

type AlertView = { type: string; severity: string; status: string; data: Record<string, unknown> };
const alerts = async (type: string): Promise<AlertView[]> =>
  ((await (await gw.api(`/api/v1/alerts?type=${type}&limit=50`, { token })).json()) as { items: AlertView[] }).items;

/**
 * Two fake controllers and a settled gateway for them, crashes (an uncaught exception, an unhandled rejection) caught
 * from here on. `triggers`: SQL run on the gateway's database before it starts (a write it refuses from the first).
 */
async function startGatewayWith(opts: { triggers?: string; config?: Record<string, unknown> } = {}): Promise<void> {
  crashes.length = 0;
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const dataDir = tempDir();
  if (opts.triggers) {
    const db = openDatabase(join(dataDir, 'gateway.db'), allMigrations());
    db.exec(opts.triggers);
    db.close();
  }
  [a, b] = await startFakes();
  gw = await startTestGateway({ demo: true, dataDir, config: controllersConfig(a, b, opts.config) });
  token = await gw.login('admin');
  await settled(gw, token);
}

async function stopGateway(): Promise<void> {
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
  await gw?.close();
  await a?.stop();
  await b?.stop();
}

/** Every write to the alerts table fails, as it does on a full disk. */
function refuseAlerts(): void {
  gw.ctx.db.exec(`CREATE TRIGGER refuse_alert_insert BEFORE INSERT ON alerts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
                  CREATE TRIGGER refuse_alert_update BEFORE UPDATE ON alerts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;`);
}
function acceptAlerts(): void {
  gw.ctx.db.exec('DROP TRIGGER refuse_alert_insert; DROP TRIGGER refuse_alert_update;');
}

describe('door controllers while the database refuses alerts', () => {
  beforeEach(() => startGatewayWith({ config: { doorHeldOpenS: 1 } }));
  afterEach(stopGateway);

  it('a door held open past the limit does not end the process when its alert cannot be written; the next one is raised', async () => {
    // The gateway's timer on the door sensor fires outside any request: its alert write threw out of a setTimeout
    // callback, an uncaught exception, and Node ended the process: every gate and door stopped being answered.
    refuseAlerts();
    a.swipe(wg26(STUDENT), 1);
    a.setDoorOpen(1, true);
    await new Promise((r) => setTimeout(r, 1800)); // past the 1 s limit
    expect(crashes).toEqual([]);
    // Counted, for whoever reads the metrics after the disk filled.
    expect(await (await gw.api('/metrics', { token })).text()).toMatch(/campus_alerts_unrecorded_total\{type="door_held_open"\} 1/);
    a.setDoorOpen(1, false);
    // Still deciding: a swipe after it is recorded as a tap.
    const e = a.swipe(wg26(STUDENT), 2);
    await waitFor(async () => {
      const body = (await (await gw.api('/api/v1/taps?readerId=ctl-a-door2&limit=50', { token })).json()) as { items: { seq: number | null }[] };
      return body.items.some((t) => t.seq === e.index);
    }, 10_000, 50);
    // Once the disk takes writes again, a door held open is raised as before.
    acceptAlerts();
    a.setDoorOpen(1, true);
    const held = await waitFor(async () => (await alerts('door_held_open')).find((x) => x.data.readerId === 'ctl-a-door1'), 10_000, 50);
    expect(held).toMatchObject({ severity: 'warning', data: { limitS: 1 } });
    a.setDoorOpen(1, false);
    expect(crashes).toEqual([]);
  });

  it('a controller that answers again is reconciled in full although its controller_offline alert cannot be resolved', async () => {
    // The resolve ran inside the reconnect, before the full card sync it starts: its refused write skipped the sync,
    // and a card put on the controller while the gateway could not see it (from the LAN, by other software) stayed.
    const stray = 0x123456;
    const lan = createSocket('udp4');
    await new Promise<void>((r) => lan.bind(0, '127.0.0.1', () => r()));
    lan.send(encodeRequest(b.serial, { type: 'put-card', record: { card: stray, from: '2000-01-01', to: '2099-12-31', doors: [1, 1, 1, 1], pin: 0 } }), b.port, '127.0.0.1');
    await waitFor(() => b.card(stray) !== undefined, 2000, 5);
    await new Promise<void>((r) => lan.close(() => r()));
    b.unreachable = true;
    await waitFor(async () => (await alerts('controller_offline')).find((x) => x.data.controller === 'ctl-b'), 10_000, 50);
    refuseAlerts();
    b.unreachable = false;
    await waitFor(() => b.card(stray) === undefined, 10_000, 20);
    expect(crashes).toEqual([]);
  });

  it('card numbers left off the controllers are raised once the disk has room, though their alert was refused', async () => {
    // Under wg26 a controller sees only the low 3 bytes: 77ADCAFE and the lost 0BADCAFE are one number to it, so the
    // new card is left off and IT has to reissue one. Its alert was refused (a full disk) and marked said all the
    // same: never raised again, and the child was refused at these doors with nobody told.
    refuseAlerts();
    const person = (await (await gw.api('/api/v1/people', { method: 'POST', token, json: { externalId: 'S20259999', name: 'Twin', role: 'student' } })).json()) as { id: number };
    expect((await gw.api(`/api/v1/people/${person.id}/cards`, { method: 'POST', token, json: { uid: '77ADCAFE' } })).status).toBe(201);
    await new Promise((r) => setTimeout(r, 1500)); // the holders check (5 s at most) plans the lists again, the raise refused
    acceptAlerts();
    const open = await waitFor(async () => {
      const list = await alerts('controller_cards_left_out');
      return list.length === 2 ? list : undefined;
    }, 10_000, 50);
    expect(open.map((x) => x.data.controller).sort()).toEqual(['ctl-a', 'ctl-b']);
    expect(await (await gw.api('/metrics', { token })).text()).toMatch(/campus_alerts_unrecorded_total\{type="controller_cards_left_out"\} [1-9]/);

    // Mended (the card reissued) while the disk refuses the resolve: resolved once it has room, not left open for good.
    refuseAlerts();
    expect((await gw.api('/api/v1/cards/77ADCAFE/block', { method: 'POST', token, json: { reason: 'reissued' } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    acceptAlerts();
    await waitFor(async () => (await alerts('controller_cards_left_out')).filter((x) => x.status === 'open').length === 0, 10_000, 50);
    expect(crashes).toEqual([]);
  });

  describe('a door set normally open from the LAN', () => {
    let attacker: Socket;
    beforeEach(async () => {
      attacker = createSocket('udp4');
      await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', () => r()));
    });
    afterEach(async () => {
      await new Promise<void>((r) => attacker.close(() => r()));
    });

    it('is set back although its door_mode_changed alert cannot be written', async () => {
      // The alert was raised before the door was set back, and its failed write stopped the setting back: on a full
      // disk, one packet from a student's laptop left the main gate open to anyone for as long as the disk stayed full.
      refuseAlerts();
      attacker.send(encodeRequest(a.serial, { type: 'set-door-control', door: 1, mode: DOOR_MODE.normallyOpen, delay: 3 }), a.port, '127.0.0.1');
      await waitFor(() => a.doors[0]!.mode === DOOR_MODE.normallyOpen, 2000, 5);
      const polls = (a.requests.get('get-status') ?? 0) + 3;
      await waitFor(() => a.doors[0]!.mode === DOOR_MODE.controlled || (a.requests.get('get-status') ?? 0) >= polls, 5000, 10);
      expect(a.doors[0]!.mode).toBe(DOOR_MODE.controlled);
      expect(crashes).toEqual([]);
    });
  });
});

describe('door controllers met first while the database refuses their state', () => {
  afterEach(stopGateway);

  it('a full card sync whose time cannot be saved is not failed and read again in full at every retry', async () => {
    // The time of the last full sync is saved after the sync; refused (a full disk), the sync counted as failed, its
    // mirror was dropped, and each retry read the controller's whole card list again, thousands of requests.
    await startGatewayWith({
      triggers: `CREATE TRIGGER refuse_full_sync BEFORE UPDATE OF last_full_sync ON controller_state
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
    });
    await new Promise((r) => setTimeout(r, 500));
    expect((await controllers(gw, token)).map((c) => c.sync.lastError)).toEqual([null, null]);
    expect(crashes).toEqual([]);
  });

  it('records swipes and watches the door modes from the baseline kept in memory', async () => {
    // Where a controller's log starts is saved at the first status read. Refused (a full disk), the status poll
    // failed there, every time: no swipe was read from the controller, and the door-mode watch after it never ran.
    await startGatewayWith({ triggers: "CREATE TRIGGER refuse_state BEFORE INSERT ON controller_state BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END" });
    const e = a.swipe(wg26(STUDENT), 1);
    await waitFor(async () => {
      const body = (await (await gw.api('/api/v1/taps?readerId=ctl-a-door1&limit=50', { token })).json()) as { items: { seq: number | null }[] };
      return body.items.some((t) => t.seq === e.index);
    }, 10_000, 50);
    const lan = createSocket('udp4');
    await new Promise<void>((r) => lan.bind(0, '127.0.0.1', () => r()));
    lan.send(encodeRequest(a.serial, { type: 'set-door-control', door: 1, mode: DOOR_MODE.normallyOpen, delay: 3 }), a.port, '127.0.0.1');
    await waitFor(() => a.doors[0]!.mode === DOOR_MODE.normallyOpen, 2000, 5);
    await waitFor(() => a.doors[0]!.mode === DOOR_MODE.controlled, 5000, 10);
    await new Promise<void>((r) => lan.close(() => r()));
    expect(crashes).toEqual([]);
  });
});

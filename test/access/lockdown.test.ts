/**
 * A lockdown survives a restart of the gateway and is lifted by the API; a deciding device that lets a card through
 * which the lockdown refuses is said on the bus, for its driver.
 */
import { describe, expect, it } from 'vitest';
import type { TapDecision } from '../../gateway/access/contract.js';
import { ManualClock } from '../../gateway/core/clock.js';
import type { LockdownOverruled } from '../../gateway/core/taps.js';
import { startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';

// Tuesday 2026-09-01 10:00 in Shanghai: a school day inside every gate's hours, whenever the suite runs.
const TUE_10 = Date.UTC(2026, 8, 1, 2, 0, 0);

/**
 * A swipe at the demo's exit gate a minute later (past the reader's debounce window), seen now or at `at`; with
 * `deviceDecision`, one a door controller decided from its own list. Resolves with this tap's own decision, or fails:
 * never the previous tap's answer after a timed-out wait.
 */
function swipes(gw: TestGateway, clock: ManualClock): (uid: string, extra?: { at?: number; deviceDecision?: { granted: true } }) => Promise<TapDecision> {
  const decided: TapDecision[] = [];
  gw.ctx.bus.on('tap.decided', (d) => decided.push(d));
  return async (uid, extra = {}) => {
    const before = decided.length;
    clock.advance(60_000);
    gw.ctx.bus.emit('tap.received', { readerId: 'demo-gate-out', uid, at: extra.at ?? clock.now(), ...(extra.deviceDecision ? { deviceDecision: extra.deviceDecision } : {}) });
    return waitFor(() => decided.slice(before).find((d) => d.uid === uid));
  };
}

describe('lockdown', () => {
  it('keeps a lockdown across a restart until someone ends it', async () => {
    const dataDir = tempDir();
    const clock = new ManualClock(TUE_10);
    let gw = await startTestGateway({ dataDir, clock });
    const security = await gw.login('security');
    expect((await gw.api('/api/v1/lockdown', { method: 'POST', token: security, json: { reason: 'intruder' } })).status).toBe(200);
    await gw.close();

    gw = await startTestGateway({ dataDir, clock });
    try {
      const admin = await gw.login('admin');
      expect(await (await gw.api('/api/v1/lockdown', { token: admin })).json()).toMatchObject({ active: true, reason: 'intruder' });
      const tap = swipes(gw, clock);
      expect((await tap('0A1B2C3D')).reason).toBe('lockdown');
      expect((await tap('0BADCAFE')).reason).toBe('card_lost'); // card status is checked before the lockdown
      const ended = await gw.api('/api/v1/lockdown', { method: 'DELETE', token: admin });
      expect(await ended.json()).toMatchObject({ active: false });
      expect((await tap('0A1B2C3D')).reason).toBe('ok');
    } finally {
      await gw.close();
    }
  });

  it('says on the bus when a deciding device lets through a card the lockdown refuses, not for a swipe from before it began or a card it allows', async () => {
    const clock = new ManualClock(TUE_10);
    const gw = await startTestGateway({ clock });
    try {
      const security = await gw.login('security');
      const guard = (gw.ctx.db.prepare("SELECT c.uid FROM cards c JOIN persons p ON p.id = c.person_id WHERE p.role = 'staff' AND p.security = 1 AND c.status = 'active' LIMIT 1").get() as { uid: string }).uid;
      const overruled: LockdownOverruled[] = [];
      gw.ctx.bus.on('tap.lockdown_overruled', (e) => overruled.push(e));
      /** A swipe a door controller granted from its own list, seen now or at `at`. */
      const swipe = swipes(gw, clock);
      const granted = (uid: string, at?: number): Promise<TapDecision> => swipe(uid, { ...(at !== undefined ? { at } : {}), deviceDecision: { granted: true } });
      expect((await granted('0A1B2C3D')).reason).toBe('ok');
      expect((await gw.api('/api/v1/lockdown', { method: 'POST', token: security, json: { reason: 'intruder' } })).status).toBe(200);
      const since = clock.now();
      expect((await granted(guard)).granted).toBe(true);
      expect((await granted('0A1B2C3D', since - 1000)).granted).toBe(true); // read back after a gap: seen before the lockdown
      expect(overruled).toEqual([]);
      // The controller's list is not the lockdown's: recorded as it happened, and said for the controllers' driver.
      const tap = await granted('0A1B2C3D');
      expect(tap).toMatchObject({ granted: true, reason: 'ok' });
      expect(overruled).toEqual([{ readerId: 'demo-gate-out', uid: '0A1B2C3D', at: tap.at, tapId: tap.tapId, lockdownSince: since }]);
      // A card the gateway has never heard of (an attacker's own, put with one packet in a deleted card's slot) has no
      // place on the lockdown's list either: refused as unknown, not for the lockdown, and said all the same.
      const stranger = await granted('DEADBEEF');
      expect(overruled.slice(1)).toEqual([{ readerId: 'demo-gate-out', uid: 'DEADBEEF', at: stranger.at, tapId: stranger.tapId, lockdownSince: since }]);
      // After the lockdown the same grant is the card list's business (the nightly reconciliation), not this event's.
      expect((await gw.api('/api/v1/lockdown', { method: 'DELETE', token: security })).status).toBeLessThan(300);
      await granted('DEADBEEF');
      expect(overruled).toHaveLength(2);
    } finally {
      await gw.close();
    }
  });

  it('a lockdown started or ended while the database refuses its alert is answered as what it is: started, ended', async () => {
    // The lockdown is recorded first, then its alert: refused (a full disk), the desk was answered 500 for a lockdown
    // that was on (and had been announced on the bus), and tried again, or thought the school was not locked down.
    const gw = await startTestGateway({ clock: new ManualClock(TUE_10) });
    try {
      const security = await gw.login('security');
      gw.ctx.db.exec(`CREATE TRIGGER refuse_alert_insert BEFORE INSERT ON alerts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
                      CREATE TRIGGER refuse_alert_update BEFORE UPDATE ON alerts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;`);
      const started = await gw.api('/api/v1/lockdown', { method: 'POST', token: security, json: { reason: 'intruder' } });
      expect(started.status).toBe(200);
      expect(await started.json()).toMatchObject({ active: true });
      const ended = await gw.api('/api/v1/lockdown', { method: 'DELETE', token: await gw.login('admin') });
      expect(ended.status).toBe(200);
      expect(await ended.json()).toMatchObject({ active: false });
    } finally {
      await gw.close();
    }
  });

  it('locks the school down on a full disk too, and ends it, though neither can be recorded', async () => {
    // The desk presses lockdown as the disk is full (a year of clips on one SD card): the INSERT was refused, the desk
    // got a 500, and every gate stayed open to every card. A trigger is SQLite refusing the write as a full disk does.
    const clock = new ManualClock(TUE_10);
    const gw = await startTestGateway({ clock });
    try {
      const security = await gw.login('security');
      const tap = swipes(gw, clock);
      gw.ctx.db.exec(`CREATE TRIGGER refuse_insert BEFORE INSERT ON lockdowns BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
                      CREATE TRIGGER refuse_update BEFORE UPDATE ON lockdowns BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;`);
      const started = await gw.api('/api/v1/lockdown', { method: 'POST', token: security, json: { reason: 'intruder' } });
      expect(started.status).toBe(200);
      expect(await started.json()).toMatchObject({ active: true, reason: 'intruder', startedBy: 'security' });
      expect((await tap('0A1B2C3D')).reason).toBe('lockdown');
      const ended = await gw.api('/api/v1/lockdown', { method: 'DELETE', token: security });
      expect(await ended.json()).toMatchObject({ active: false, endedBy: 'security' });
      expect((await tap('0A1B2C3D')).reason).toBe('ok');
    } finally {
      await gw.close();
    }
  });
});

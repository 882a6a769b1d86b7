/**
 * A lockdown on door controllers that goes wrong half-way: a card sync that fails, a door that answers another mode,
 * a gateway restarted while a controller that missed the lockdown's end is away. Each must end with the doors as the
 * lockdown (or its end) wants them, without a reconnect or the nightly reconciliation.
 */
import { createSocket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DOOR_MODE, encodeRequest } from '../../drivers/controllers/uhppote/messages.js';
import { FakeUhppote } from './fake-uhppote.js';
import { controllers, controllersConfig, settled, startFakes, startTestGateway, tempDir, waitFor, wg26, type TestGateway } from './helpers.js';

const STUDENT = '0A1B2C3D';

let a: FakeUhppote;
let b: FakeUhppote;
let gw: TestGateway;
let token: string;
/** The gateway's clock runs this far ahead of the wall clock (a test moves it past a back-off). */
let offset = 0;
const clock = { now: () => Date.now() + offset };

const lockdownOf = async (id: string): Promise<string> => ((await controllers(gw, token)).find((c) => c.id === id) as unknown as { lockdown: string }).lockdown;
const syncOf = async (id: string) => (await controllers(gw, token)).find((c) => c.id === id)!.sync;
const polls = (f: FakeUhppote): number => f.requests.get('get-status') ?? 0;
/** Resolves after the controller has answered `n` more status polls. */
const afterPolls = async (f: FakeUhppote, n: number): Promise<void> => {
  const until = polls(f) + n;
  await waitFor(() => polls(f) >= until, 10_000, 10);
};

/** Each test: two fresh fakes and the clock at the wall clock's time; the test starts its own gateway. */
function withFakes(): void {
  beforeEach(async () => {
    offset = 0;
    [a, b] = await startFakes();
  });
  afterEach(async () => {
    await gw?.close();
    await a?.stop();
    await b?.stop();
  });
}

describe('a lockdown on door controllers that goes wrong half-way', () => {
  withFakes();

  const start = async (dataDir?: string): Promise<void> => {
    gw = await startTestGateway({ demo: true, clock, config: controllersConfig(a, b), ...(dataDir ? { dataDir } : {}) });
    token = await gw.login('admin');
    await settled(gw, token);
  };

  /**
   * A card gone from ctl-a's list (someone on the LAN deleted it) while it refuses puts (a full card store, or a forged
   * reply): a reconciliation finds it and fails at its put. No card or holder changes, so nothing else asks for a sync.
   */
  const refusing = async (uid: string): Promise<void> => {
    a.refusePuts = true;
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    s.send(encodeRequest(a.serial, { type: 'delete-card', card: wg26(uid) }), a.port, '127.0.0.1');
    await waitFor(() => a.card(wg26(uid)) === undefined, 2000, 5);
    await new Promise<void>((r) => s.close(() => r()));
    expect((await gw.api('/api/v1/controllers/ctl-a/sync', { method: 'POST', token })).status).toBe(202);
    await waitFor(async () => {
      const s = await syncOf('ctl-a');
      return !s.running && s.lastError;
    }, 5000, 10);
  };

  it('a card sync refused during a lockdown is run again later, and the guards get through once the controller takes it', async () => {
    await start();
    const guard = (gw.ctx.db.prepare("SELECT c.uid FROM cards c JOIN persons p ON p.id = c.person_id WHERE p.role = 'staff' AND p.security = 1 AND c.status = 'active' ORDER BY c.uid LIMIT 1").get() as { uid: string } | undefined)?.uid;
    expect(guard, 'the demo school has a security guard with a card').toBeDefined();
    await refusing(guard!);
    // The lockdown's own sync (a full read, deletes first) cuts the students but fails at the guard's card.
    expect((await gw.api('/api/v1/lockdown', { method: 'POST', token, json: { reason: 'drill' } })).status).toBe(200);
    await waitFor(() => a.card(wg26(STUDENT)) === undefined && a.doors[0]!.mode === DOOR_MODE.normallyClosed, 10_000, 10);
    await afterPolls(a, 3);
    expect(await lockdownOf('ctl-a')).toBe('applying');
    expect(a.swipe(wg26(guard!), 1).granted).toBe(false);
    // The controller takes writes again; a failed sync is not read again at once (thousands of records).
    a.refusePuts = false;
    const reads = a.requests.get('get-card-at-index') ?? 0;
    await afterPolls(a, 5);
    expect(a.requests.get('get-card-at-index') ?? 0).toBe(reads);
    // Two failures in a row: two minutes on, a status poll runs it again. The failed run had dropped the lockdown's
    // request, and the doors stayed normally closed to the guards until a reconnect or the nightly reconciliation.
    offset += 121_000;
    await afterPolls(a, 10);
    expect(await lockdownOf('ctl-a')).toBe('applied');
    expect(a.doors.slice(0, 2).map((d) => d.mode)).toEqual([DOOR_MODE.controlled, DOOR_MODE.controlled]);
    expect(a.swipe(wg26(guard!), 1).granted).toBe(true);
    expect(a.swipe(wg26(STUDENT), 1).granted).toBe(false);
  });

  it('a sync that keeps failing is run again less and less often, and not while nothing failed', async () => {
    await start();
    const uid = (gw.ctx.db.prepare("SELECT uid FROM cards WHERE status = 'active' AND uid != ? ORDER BY uid LIMIT 1").get(STUDENT) as { uid: string }).uid;
    const puts = (): number => a.requests.get('put-card') ?? 0;
    // A sync that did not fail is not run again by the clock.
    const reads = a.requests.get('get-card-at-index') ?? 0;
    offset += 600_000;
    await afterPolls(a, 3);
    expect(a.requests.get('get-card-at-index') ?? 0).toBe(reads);
    await refusing(uid);
    const tried = puts();
    // A minute: run again (and refused again); another minute is not enough now, two are.
    offset += 61_000;
    await waitFor(() => puts() > tried, 5000, 10);
    await waitFor(async () => !(await syncOf('ctl-a')).running, 5000, 10);
    const again = puts();
    offset += 61_000;
    await afterPolls(a, 5);
    expect(puts()).toBe(again);
    offset += 61_000;
    await waitFor(() => puts() > again, 5000, 10);
  });

  it('a controller whose card store stays full is not read back in full at each retry, only sent what is left', async () => {
    await start();
    const uid = (gw.ctx.db.prepare("SELECT uid FROM cards WHERE status = 'active' AND uid != ? ORDER BY uid LIMIT 1").get(STUDENT) as { uid: string }).uid;
    const reads = (): number => a.requests.get('get-card-at-index') ?? 0;
    const puts = (): number => a.requests.get('put-card') ?? 0;
    await refusing(uid);
    const [readBefore, putBefore] = [reads(), puts()];
    // The retry: the list was read and the controller answered the put, so only the refused card is tried again.
    offset += 61_000;
    await waitFor(() => puts() > putBefore, 5000, 10);
    await waitFor(async () => !(await syncOf('ctl-a')).running, 5000, 10);
    expect(reads()).toBe(readBefore);
    expect(puts()).toBe(putBefore + 1);
    expect((await syncOf('ctl-a')).lastError).toMatch(/refused card/);
    // Room again: the next retry writes it, still without a read.
    a.refusePuts = false;
    offset += 121_000;
    await waitFor(() => a.card(wg26(uid)) !== undefined, 5000, 10);
    await waitFor(async () => (await syncOf('ctl-a')).lastError === null, 5000, 10);
    expect(reads()).toBe(readBefore);
  });

  it('a lockdown applied stays applied while a status poll reads the doors back, and turns applying only when they do not answer', async () => {
    gw = await startTestGateway({ demo: true, clock, config: controllersConfig(a, b, { timeoutMs: 1000 }) });
    token = await gw.login('admin');
    await settled(gw, token);
    expect((await gw.api('/api/v1/lockdown', { method: 'POST', token, json: { reason: 'drill' } })).status).toBe(200);
    await waitFor(async () => (await lockdownOf('ctl-a')) === 'applied', 10_000, 20);
    // A status poll's look at the doors, its reply slow (a busy box or a busy LAN): the desk saw the lockdown's line
    // turn "applying" for the look's duration, at every poll, and one full CI run caught the console on it twice.
    a.holding.add('get-door-control');
    await waitFor(() => a.held.length > 0, 5000, 5);
    expect(await lockdownOf('ctl-a')).toBe('applied');
    a.holding.clear();
    a.release();
    await afterPolls(a, 2);
    expect(await lockdownOf('ctl-a')).toBe('applied');
    // A look that gets no answer at all is no confirmation: the desk is told, until a look reads the doors again.
    a.silentTo.add('get-door-control');
    await waitFor(async () => (await lockdownOf('ctl-a')) === 'applying', 10_000, 20);
    a.silentTo.clear();
    await waitFor(async () => (await lockdownOf('ctl-a')) === 'applied', 10_000, 20);
    // A door found changed (set normally open from the LAN) turns the line as soon as it is found, not at the look's
    // end: its setting back, and the other door's read, can take seconds on a lossy LAN.
    a.holding.add('set-door-control');
    a.doors[0]!.mode = DOOR_MODE.normallyOpen;
    await waitFor(() => a.held.length > 0, 5000, 5);
    expect(await lockdownOf('ctl-a')).toBe('applying');
    a.holding.clear();
    a.release();
    await waitFor(async () => (await lockdownOf('ctl-a')) === 'applied', 10_000, 20);
    expect(a.doors[0]!.mode).toBe(DOOR_MODE.controlled);
  });

  it('a door that answers another mode than the lockdown asked does not keep the card list uncut', async () => {
    await start();
    // A reply forged in a race with the controller's (or a firmware's quirk): the door step threw, and the card list
    // was never cut: the doors stayed normally closed to security staff too, with every student's card on the list.
    a.forgedReplies.push({ type: 'set-door-control', door: 1, mode: DOOR_MODE.controlled, delay: 3 });
    expect((await gw.api('/api/v1/lockdown', { method: 'POST', token, json: { reason: 'drill' } })).status).toBe(200);
    await waitFor(() => a.forgedReplies.length === 0, 5000, 10);
    await afterPolls(a, 5);
    expect(a.card(wg26(STUDENT))).toBeUndefined();
    expect(await lockdownOf('ctl-a')).toBe('applied');
    expect(a.doors.slice(0, 2).map((d) => d.mode)).toEqual([DOOR_MODE.controlled, DOOR_MODE.controlled]);
    // The doors' modes were the gateway's own all along, through the lockdown and its end: nothing to tell the desk.
    expect((await gw.api('/api/v1/lockdown', { method: 'DELETE', token })).status).toBe(200);
    await afterPolls(a, 3);
    const alerts = ((await (await gw.api('/api/v1/alerts?limit=200', { token })).json()) as { items: { type: string }[] }).items;
    expect(alerts.filter((x) => x.type === 'door_mode_changed')).toEqual([]);
  });

  it('doors a lockdown left normally closed on a controller away at its end are set controlled after a restart; a door closed by other software is set back, with a warning', async () => {
    const dataDir = tempDir();
    await start(dataDir);
    // ctl-a is unplugged in the middle of the lockdown: its doors normally closed, its card list not yet cut.
    a.holding.add('delete-card');
    expect((await gw.api('/api/v1/lockdown', { method: 'POST', token, json: { reason: 'drill' } })).status).toBe(200);
    await waitFor(() => a.held.length > 0, 10_000, 5);
    expect(a.doors.slice(0, 2).map((d) => d.mode)).toEqual([DOOR_MODE.normallyClosed, DOOR_MODE.normallyClosed]);
    a.unreachable = true;
    a.holding.clear();
    a.held.length = 0; // its answer lost with it
    await waitFor(async () => (await controllers(gw, token)).find((c) => c.id === 'ctl-a')!.state === 'offline', 10_000, 20);
    await waitFor(async () => (await lockdownOf('ctl-b')) === 'applied', 10_000, 20);
    expect((await gw.api('/api/v1/lockdown', { method: 'DELETE', token })).status).toBe(200);
    await waitFor(() => b.doors[0]!.mode === DOOR_MODE.controlled && b.card(wg26(STUDENT)) !== undefined, 10_000, 20);
    await gw.close();
    // While the gateway is down someone closes ctl-b's door with the vendor's software.
    b.doors[0]!.mode = DOOR_MODE.normallyClosed;
    a.unreachable = false;
    try {
      await start(dataDir);
      await afterPolls(a, 5);
      // Only the gateway's memory knew it had closed ctl-a's doors: nobody's card opened them, for good.
      expect(a.doors.slice(0, 2).map((d) => d.mode)).toEqual([DOOR_MODE.controlled, DOOR_MODE.controlled]);
      expect(a.swipe(wg26(STUDENT), 1).granted).toBe(true);
      // The gateway owns the door modes as it owns the card lists: a door closed behind its back refuses every card
      // (the desk is told), and no alert for the doors it closed itself.
      await waitFor(() => b.doors[0]!.mode === DOOR_MODE.controlled, 5000, 10);
      type AlertView = { type: string; severity: string; data: Record<string, unknown> };
      const alerts = ((await (await gw.api('/api/v1/alerts?limit=200', { token })).json()) as { items: AlertView[] }).items.filter((x) => x.type === 'door_mode_changed');
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ severity: 'warning', data: { controller: 'ctl-b', readerId: 'ctl-b-door1', mode: 'normally_closed' } });
    } finally {
      await gw.close();
      gw = undefined as unknown as TestGateway;
      const { rmSync } = await import('node:fs');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a controller away when a lockdown began', () => {
  withFakes();

  it('its swipes from while it was away, read back after its list was cut, raise no door_granted_in_lockdown and no read after read of its list', async () => {
    gw = await startTestGateway({ demo: true, clock, config: controllersConfig(a, b) });
    token = await gw.login('admin');
    await settled(gw, token);
    a.unreachable = true;
    await waitFor(async () => (await controllers(gw, token)).find((c) => c.id === 'ctl-a')!.state === 'offline', 10_000, 20);
    expect((await gw.api('/api/v1/lockdown', { method: 'POST', token, json: { reason: 'drill' } })).status).toBe(200);
    // Away, it decides from its old list: the children going in and out through the main gate are let through, and
    // logged, more than its list is long (a long outage), before the gateway can reach it.
    await new Promise((r) => setTimeout(r, 1100)); // its log keeps whole seconds
    const cards = a.cards().map((c) => c.card);
    for (let i = 0; i < 1000; i++) a.swipe(cards[i % cards.length]!, 1 + (Math.floor(i / cards.length) % 2));
    const reads = a.requests.get('get-card-at-index') ?? 0;
    const before = (await controllers(gw, token)).find((c) => c.id === 'ctl-a')!.events.lastIndex ?? 0;
    a.unreachable = false;
    // Back: its list is read in full and cut while its log is read back, the cut done first.
    await waitFor(async () => (await lockdownOf('ctl-a')) === 'applied', 30_000, 50);
    // The log waits for the cut (request-lanes.ts): one card request per log read, the cut came when the log was
    // nearly read back, 25 s later, its doors normally closed to security staff meanwhile.
    expect(((await controllers(gw, token)).find((c) => c.id === 'ctl-a')!.events.lastIndex ?? 0) - before).toBeLessThan(500);
    await waitFor(async () => (await controllers(gw, token)).find((c) => c.id === 'ctl-a')!.events.lastIndex === a.lastIndex, 60_000, 50);
    await afterPolls(a, 3);
    const alerts = ((await (await gw.api('/api/v1/alerts?limit=200', { token })).json()) as { items: { type: string }[] }).items;
    // Those swipes were decided by a list known not to be the lockdown's; nobody changed it from the LAN.
    expect(alerts.filter((x) => x.type === 'door_granted_in_lockdown')).toEqual([]);
    // Before, each one decided after the cut raised the alert and read the whole list again, over and over.
    expect((a.requests.get('get-card-at-index') ?? 0) - reads).toBeLessThanOrEqual(cards.length);
  }, 120_000);
});

describe('a card-list read held back when a lockdown begins', () => {
  withFakes();

  it('a card-list read held back from before a lockdown is taken into the lockdown\'s cut, not run as an extra read during it', async () => {
    gw = await startTestGateway({ demo: true, clock, config: controllersConfig(a, b) });
    token = await gw.login('admin');
    await settled(gw, token);
    const metric = async (name: string): Promise<string> =>
      (await (await gw.api('/metrics', { token })).text()).split('\n').filter((l) => l.startsWith(name)).join('\n');
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const put = (card: number): void =>
      s.send(encodeRequest(a.serial, { type: 'put-card', record: { card, from: '2000-01-01', to: '2099-12-31', doors: [1, 1, 1, 1], pin: 0 } }), a.port, '127.0.0.1');
    try {
      // Two cards put from the LAN outside a lockdown, each let through: the first read again at once, the second's
      // read held back by the minute (not-issued.ts).
      const FORGED = 0x5a5a5a;
      put(FORGED);
      await waitFor(() => a.card(FORGED) !== undefined, 2000, 5);
      a.swipe(FORGED, 1);
      await waitFor(() => a.card(FORGED) === undefined, 5000, 20);
      await waitFor(async () => !(await syncOf('ctl-a')).running, 5000, 20);
      put(FORGED + 1);
      await waitFor(() => a.card(FORGED + 1) !== undefined, 2000, 5);
      expect(a.swipe(FORGED + 1, 1).granted).toBe(true);
      await waitFor(async () => /outcome="held"\} 1$/.test(await metric('campus_controller_cards_not_issued_total{controller="ctl-a"')), 5000, 20);
      // A lockdown: its cut takes the read held back (the list is known not to be the gateway's), so the card put
      // from the LAN is gone with the lockdown's own cut.
      expect((await gw.api('/api/v1/lockdown', { method: 'POST', token, json: { reason: 'drill' } })).status).toBe(200);
      await waitFor(async () => a.card(wg26(STUDENT)) === undefined && (await lockdownOf('ctl-a')) === 'applied', 10_000, 20);
      expect(a.card(FORGED + 1)).toBeUndefined();
      // The minute over: before, the held read ran now, during the lockdown, a full read of the list that set the
      // doors normally closed to security staff while it lasted and the console said applying.
      const reads = a.requests.get('get-card-at-index') ?? 0;
      offset += 61_000;
      await afterPolls(a, 3);
      expect(a.requests.get('get-card-at-index') ?? 0).toBe(reads);
      expect(await lockdownOf('ctl-a')).toBe('applied');
      expect(await metric('campus_controller_cards_not_issued_total{controller="ctl-a",outcome="lockdown"}')).toMatch(/ 1$/);
      expect(await metric('campus_controller_cards_not_issued_total{controller="ctl-a",outcome="reread"}')).toMatch(/ 1$/);
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
});

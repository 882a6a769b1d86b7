/**
 * Card lists for a school of 5,000: a full reconciliation loads every card into two controllers; afterwards a change
 * is one request per controller (no re-read); a lockdown leaves only security staff's cards and the end of it brings
 * every card back.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { controllers, controllersConfig, type ControllerView, settled, startFakes, startTestGateway, waitFor, wg26, type TestGateway } from './helpers.js';
import type { FakeUhppote } from './fake-uhppote.js';

let a: FakeUhppote;
let b: FakeUhppote;
let gw: TestGateway;
let token: string;
const SCHOOL = 5000;

/** Both controllers reconciled in full: every card the school holds is on them. */
async function reconcile(): Promise<ControllerView[]> {
  for (const id of ['ctl-a', 'ctl-b']) expect((await gw.api(`/api/v1/controllers/${id}/sync`, { method: 'POST', token })).status).toBe(202);
  return waitFor(async () => {
    const l = await controllers(gw, token);
    return l.every((c) => !c.sync.running && c.sync.pending === 0 && c.sync.inSync >= SCHOOL) ? l : null;
  }, 120_000, 100);
}

// Fresh controllers and a fresh school of 5,000 per test: the lost-card and lockdown tests used to start from the cards
// the reconciliation test had loaded (and the lockdown test from the card the lost-card test had removed).
describe('card sync with 5,000 cards', () => {
  beforeEach(async () => {
    [a, b] = await startFakes();
    gw = await startTestGateway({ demo: true, config: controllersConfig(a, b) });
    token = await gw.login('admin');
    await settled(gw, token);
    // Top the demo roster up to 5,000 students with cards, as a roster import would.
    const have = (gw.ctx.db.prepare("SELECT COUNT(*) AS n FROM cards WHERE status = 'active'").get() as { n: number }).n;
    const now = new Date().toISOString();
    const person = gw.ctx.db.prepare(
      "INSERT INTO persons (external_id, name, role, grade, class, schedule_group, security, created_at, updated_at) VALUES (?, ?, 'student', '初二', '(9)', 'day', 0, ?, ?)",
    );
    const card = gw.ctx.db.prepare("INSERT INTO cards (uid, person_id, status, issued_at, updated_at, match) VALUES (?, ?, 'active', ?, ?, 'exact')");
    gw.ctx.db.transaction(() => {
      for (let i = 0; i < SCHOOL - have; i++) {
        const id = Number(person.run(`BULK${String(i).padStart(5, '0')}`, `学生${i}`, now, now).lastInsertRowid);
        card.run(`C0${(0x300000 + i).toString(16).toUpperCase()}`, id, now, now);
      }
    })();
  });
  afterEach(async () => {
    await gw?.close();
    await a?.stop();
    await b?.stop();
  });

  it('a full reconciliation loads all 5,000 cards into both controllers', async () => {
    expect((await gw.api('/api/v1/controllers/ctl-a/sync', { method: 'POST', token: await gw.login('viewer') })).status).toBe(403);
    const t0 = Date.now();
    const list = await reconcile();
    console.log(`[figures] full reconciliation of ${list[0]!.sync.inSync} cards on two controllers: ${Date.now() - t0} ms`);
    expect(a.cards()).toHaveLength(list.find((c) => c.id === 'ctl-a')!.sync.planned);
    expect(b.cards()).toHaveLength(list.find((c) => c.id === 'ctl-b')!.sync.planned);
    expect(a.cards().length).toBeGreaterThanOrEqual(SCHOOL);
    expect(a.card(wg26('C0300000'))).toMatchObject({ doors: [1, 1, 0, 0], from: '2000-01-01', to: '2099-12-31' });
  });

  it('after that, a card reported lost is one delete per controller, with no re-read', async () => {
    await reconcile();
    a.requests.clear();
    b.requests.clear();
    const res = await gw.api('/api/v1/cards/C0300007/lost', { method: 'POST', token, json: {} });
    expect(res.status).toBe(200);
    await waitFor(() => a.card(wg26('C0300007')) === undefined && b.card(wg26('C0300007')) === undefined, 5000, 10);
    for (const f of [a, b]) {
      expect(f.requests.get('delete-card')).toBe(1);
      expect(f.requests.get('put-card') ?? 0).toBe(0);
      expect(f.requests.get('get-card-at-index') ?? 0).toBe(0);
    }
  });

  it('a lockdown leaves only security staff cards on the doors, and its end restores every card', async () => {
    await reconcile();
    const before = a.cards().length;
    const security = (gw.ctx.db.prepare("SELECT COUNT(*) AS n FROM cards c JOIN persons p ON p.id = c.person_id WHERE c.status = 'active' AND p.role = 'staff' AND p.security = 1").get() as { n: number }).n;
    const t0 = Date.now();
    const modes: number[] = [];
    const watch = setInterval(() => modes.push(a.doors[0]!.mode), 1);
    expect((await gw.api('/api/v1/lockdown', { method: 'POST', token, json: { reason: 'drill' } })).status).toBe(200);
    await waitFor(() => a.cards().length === security && b.cards().length === security && a.doors[0]!.mode === 3 && b.doors[0]!.mode === 3, 60_000, 20);
    clearInterval(watch);
    // The doors were held "normally closed" (2) while the card lists were being cut, then back to "controlled" (3).
    expect(modes).toContain(2);
    expect(a.swipe(wg26('C0300001'), 1).granted).toBe(false);
    console.log(`[figures] lockdown applied to two controllers of ${before} cards (${security} security cards kept): ${Date.now() - t0} ms`);
    const t1 = Date.now();
    expect((await gw.api('/api/v1/lockdown', { method: 'DELETE', token })).status).toBe(200);
    await waitFor(() => a.cards().length === before && b.cards().length === before, 60_000, 20);
    expect(a.swipe(wg26('C0300001'), 1).granted).toBe(true);
    console.log(`[figures] lockdown lifted on both controllers: ${Date.now() - t1} ms`);
  });
});

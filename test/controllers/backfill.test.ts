/**
 * No swipe lost: the gateway stopped while 100 swipes happen at two controllers records all of them after it starts
 * again, read back from the controllers' logs with the controllers' own times, marked backfilled, each once, and
 * a controller reboot in between loses nothing either.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllers, controllersConfig, settled, startFakes, startTestGateway, tempDir, waitFor, wg26, type TestGateway } from './helpers.js';
import type { FakeUhppote } from './fake-uhppote.js';

interface TapView {
  id: string;
  at: number;
  readerId: string;
  seq: number | null;
  granted: boolean;
}

let a: FakeUhppote;
let b: FakeUhppote;
const dataDir = tempDir('campus-controllers-');
const STUDENT = '0A1B2C3D';

async function allTaps(gw: TestGateway, token: string, readerId: string): Promise<TapView[]> {
  return ((await (await gw.api(`/api/v1/taps?readerId=${readerId}&limit=500`, { token })).json()) as { items: TapView[] }).items;
}

describe('event backfill across a gateway restart', () => {
  beforeAll(async () => {
    [a, b] = await startFakes();
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('records all 100 swipes made while the gateway was stopped, once each, marked backfilled, at the controller time', async () => {
    const config = controllersConfig(a, b);
    let gw = await startTestGateway({ demo: true, dataDir, config });
    let token = await gw.login('admin');
    await settled(gw, token);
    const live = a.swipe(wg26(STUDENT), 1);
    await waitFor(async () => (await allTaps(gw, token, 'ctl-a-door1')).find((t) => t.seq === live.index), 5000, 20);
    await gw.close();

    // 100 swipes while nobody listens: 60 at ctl-a (both doors), 40 at ctl-b; ctl-b reboots half way.
    const swiped: { fake: FakeUhppote; reader: string; index: number; time: string }[] = [];
    for (let i = 0; i < 100; i++) {
      const fake = i % 5 < 3 ? a : b;
      const door = fake === a ? (i % 2) + 1 : 1;
      if (i === 50) await b.reboot();
      const e = fake.swipe(wg26(STUDENT), door);
      swiped.push({ fake, reader: `${fake === a ? 'ctl-a' : 'ctl-b'}-door${door}`, index: e.index, time: e.timestamp! });
    }

    const t0 = Date.now();
    gw = await startTestGateway({ demo: true, dataDir, config });
    token = await gw.login('admin');
    const done = await waitFor(async () => {
      const list = await controllers(gw, token);
      return list.every((c) => c.events.lastIndex !== null && c.events.lastIndex === (c.id === 'ctl-a' ? a.lastIndex : b.lastIndex)) ? list : null;
    }, 20_000, 50);
    console.log(`[figures] 100 missed swipes read back in ${Date.now() - t0} ms after the gateway started`);

    const byReader = new Map<string, TapView[]>();
    for (const r of ['ctl-a-door1', 'ctl-a-door2', 'ctl-b-door1']) byReader.set(r, await allTaps(gw, token, r));
    for (const s of swiped) {
      const found = byReader.get(s.reader)!.filter((t) => t.seq === s.index);
      expect(found, `${s.reader} event ${s.index}`).toHaveLength(1);
      // The controller's own time (Asia/Shanghai wall clock), not the time the gateway read it.
      expect(new Date(found[0]!.at).toLocaleString('sv-SE', { timeZone: 'Asia/Shanghai' })).toBe(s.time);
    }
    // Nothing twice: one tap per (reader, event index) overall, the live one included.
    for (const [reader, list] of byReader) {
      const seqs = list.map((t) => t.seq);
      expect(new Set(seqs).size, reader).toBe(seqs.length);
    }
    expect(done.find((c) => c.id === 'ctl-a')!.events.backfilled).toBe(60);
    expect(done.find((c) => c.id === 'ctl-b')!.events.backfilled).toBe(40);
    await gw.close();
  });
});

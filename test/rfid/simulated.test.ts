/**
 * The demo's simulated readers: a compressed school day from an injected card pool, gates and canteen sharing
 * who is on campus, canteen taps with amounts and transaction numbers that never repeat across restarts.
 */
import { seededRandom } from '../../gateway/core/seeded-random.js';
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { intensity } from '../../drivers/rfid/simulated-reader.js';
import type { Tap } from '../../gateway/core/taps.js';
import { demoConfig } from '../../config/demo.js';
import { startTestGateway, tempDir, waitFor } from '../helpers/gateway.js';
import { startReaders } from './helpers.js';

const CARDS = Array.from({ length: 40 }, (_, i) => (0x0a000000 + i).toString(16).toUpperCase().padStart(8, '0'));

const config = {
  readers: [
    { id: 'sim-in', accessPoint: 'east-gate', direction: 'in' as const, debounceMs: 0, driver: { type: 'simulated' as const, dayCycleS: 4, peakTapsPerS: 40 } },
    { id: 'sim-out', accessPoint: 'east-gate', direction: 'out' as const, debounceMs: 0, driver: { type: 'simulated' as const, dayCycleS: 4, peakTapsPerS: 40 } },
    { id: 'sim-pos', accessPoint: 'canteen', debounceMs: 0, driver: { type: 'simulated' as const, dayCycleS: 4, peakTapsPerS: 40 } },
  ],
  access: {
    accessPoints: [
      { id: 'east-gate', name: 'East gate', kind: 'gate' as const },
      { id: 'canteen', name: 'Canteen', kind: 'canteen' as const },
    ],
  },
};

describe('simulated school day', () => {
  it('has the morning rush at the gate in, the evening rush out and lunch as the canteen peak', () => {
    expect(intensity('gate-in', 7.45)).toBeGreaterThan(0.9);
    expect(intensity('gate-in', 10.5)).toBeLessThan(0.05);
    expect(intensity('gate-out', 17.2)).toBeGreaterThan(0.9);
    expect(intensity('gate-out', 7.45)).toBeLessThan(0.05);
    expect(intensity('canteen', 12.1)).toBeGreaterThan(intensity('canteen', 7.2));
    expect(intensity('canteen', 12.1)).toBeGreaterThan(intensity('canteen', 17.8));
    expect(intensity('canteen', 9.5)).toBeLessThan(0.05);
  });

  it('taps plausibly from the card pool, canteen with amounts and rising seq that survive a restart', async () => {
    const dataDir = tempDir('campus-sim-');
    try {
      let h = await startReaders(config, { cardPool: () => CARDS, random: seededRandom(7), dataDir });
      // A few compressed days.
      await waitFor(() => h.taps.filter((t) => t.readerId === 'sim-pos').length >= 30 && h.taps.some((t) => t.readerId === 'sim-out'), 20_000);
      await h.close();
      const first = [...h.taps];
      const byReader = (taps: Tap[], id: string): Tap[] => taps.filter((t) => t.readerId === id);

      expect(first.every((t) => CARDS.includes(t.uid))).toBe(true);
      const pos = byReader(first, 'sim-pos');
      expect(pos.every((t) => Number.isInteger(t.amount) && t.amount! >= 300 && t.amount! <= 1500)).toBe(true);
      const seqs = pos.map((t) => t.seq!);
      expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
      expect(byReader(first, 'sim-in').every((t) => t.seq === undefined && t.amount === undefined)).toBe(true);

      // Leaving is by people who came in: every card seen at the out gate was seen at the in gate before.
      const seenIn = new Set<string>();
      for (const t of first) {
        if (t.readerId === 'sim-in') seenIn.add(t.uid);
        if (t.readerId === 'sim-out') expect(seenIn.has(t.uid)).toBe(true);
      }

      // After a restart on the same data dir the POS numbers go on upward: the wallet must not see a seq twice.
      h = await startReaders(config, { cardPool: () => CARDS, random: seededRandom(8), dataDir });
      await waitFor(() => h.taps.some((t) => t.readerId === 'sim-pos'), 20_000);
      await h.close();
      const after = byReader(h.taps, 'sim-pos');
      expect(after[0]!.seq!).toBeGreaterThan(Math.max(...seqs));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('stays up and quiet with an empty card pool', async () => {
    const h = await startReaders(config, { cardPool: () => [], random: seededRandom(1) });
    try {
      await waitFor(() => h.module.reader('sim-pos')?.detail?.includes('no active cards'), 10_000);
      expect(h.taps).toHaveLength(0);
      expect(h.module.health!().ok).toBe(true);
    } finally {
      await h.close();
    }
  });

  it('keeps a demo gate closed at night nearly quiet: a late tap now and then, no standing repeated_denials alert', async () => {
    // 03:00 on a Wednesday in the demo school's zone (Asia/Shanghai): the east gate's students' window is 06:00–22:00.
    // The simulated day is compressed and goes on at full speed; the timetable is the real one.
    const night = Date.UTC(2026, 10, 24, 19, 0, 0);
    const offset = night - Date.now(); // the gateway's clock starts at `night` and runs at wall speed
    const fast = { dayCycleS: 4, peakTapsPerS: 40 };
    const gw = await startTestGateway({
      simulatedReaders: true,
      clock: { now: () => Date.now() + offset },
      config: { readers: demoConfig.readers!.map((r) => (r.driver.type === 'simulated' ? { ...r, driver: { type: 'simulated', ...fast } } : r)) },
    });
    try {
      const admin = await gw.login();
      const get = async <T>(path: string): Promise<T> => (await (await gw.api(path, { token: admin })).json()) as T;
      type Tap = { reason: string; person: { externalId: string } | null };
      const eastTaps = async () => (await get<{ items: Tap[] }>('/api/v1/taps?accessPoint=east-gate&limit=500')).items;
      // The canteen has no timetable: its simulated readers go on through the compressed day. Meanwhile the closed
      // gate lets a tap through now and then.
      await waitFor(async () => (await get<{ items: unknown[] }>('/api/v1/taps?readerId=sim-canteen-2')).items.length >= 20 && (await eastTaps()).length > 0, 20_000);
      const taps = await eastTaps();
      const elapsedMs = Date.now() + offset - night;
      // At most one per reader per 30 s (CLOSED_GAP_MS in the driver) on the gateway's clock, however long this box
      // took to get here: bounded by the elapsed time, not by a guess at the speed of the box.
      const eastReaders = demoConfig.readers!.filter((r) => r.accessPoint === 'east-gate' && r.driver.type === 'simulated').length;
      expect(eastReaders).toBeGreaterThan(0);
      expect(taps.length).toBeLessThanOrEqual(eastReaders * (1 + Math.floor(elapsedMs / 30_000)));
      // ...while the canteen, open, tapped at least 20 times in the same span. The window is the students' own:
      // a student is refused for the hour, a member of staff (the roster's T… ids, no window) goes through.
      const student = (t: Tap) => !(t.person?.externalId ?? '').startsWith('T');
      expect(taps.filter(student).map((t) => t.reason).filter((r) => r !== 'outside_schedule')).toEqual([]);
      expect(taps.filter((t) => !student(t)).map((t) => t.reason).filter((r) => r !== 'ok')).toEqual([]);
      const alerts = await get<{ items: unknown[] }>('/api/v1/alerts?status=open&type=repeated_denials');
      expect(alerts.items).toHaveLength(0);
    } finally {
      await gw.close();
    }
  });
});

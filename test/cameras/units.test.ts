import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderCard } from '../../drivers/onvif/jpeg.js';
import { SimulatedSession } from '../../drivers/onvif/simulated.js';
import { normalizeNotifications } from '../../drivers/onvif/notifications.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { CredentialBox } from '../../gateway/cameras/credentials.js';
import { withinWindows } from '../../gateway/cameras/rules.js';
import { classifyNotification } from '../../drivers/onvif/classify.js';
import { SnapshotStore, snapshotMigrations } from '../../gateway/cameras/snapshots.js';
import { openDatabase } from '../../gateway/storage/db.js';
import { tempDir } from '../helpers/gateway.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const jpeg = (n: number): Buffer => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(n - 3, 1)]);

function store(retention: { maxCount: number; maxBytes: number }) {
  const dir = tempDir('campus-snapshots-');
  dirs.push(dir);
  const db = openDatabase(join(dir, 'gateway.db'), snapshotMigrations);
  const clock = new ManualClock();
  return { store: new SnapshotStore(db, join(dir, 'snapshots'), clock, retention), clock, db, dir };
}

describe('snapshot store', () => {
  it('keeps within the count cap, dropping routine pictures before evidence', async () => {
    const { store: s, clock } = store({ maxCount: 3, maxBytes: 1_000_000 });
    const evidence = await s.save('cam-1', jpeg(100), 'evidence', '01ARZ3NDEKTSV4RRFFQ69G5FAV');
    clock.advance(1000);
    const r1 = await s.save('cam-1', jpeg(100), 'routine');
    clock.advance(1000);
    const r2 = await s.save('cam-1', jpeg(100), 'routine');
    clock.advance(1000);
    const r3 = await s.save('cam-2', jpeg(100), 'fresh');
    expect(s.totals()).toEqual({ count: 3, bytes: 300 });
    expect(() => s.get(r1.id)).toThrow(/not found/);
    expect(s.get(evidence.id).alertId).toBe('01ARZ3NDEKTSV4RRFFQ69G5FAV');
    expect(existsSync(s.file(r1.id))).toBe(false);
    expect(s.latest('cam-1')!.id).toBe(r2.id);
    expect(s.latest('cam-2')!.id).toBe(r3.id);
  });

  it('keeps within the byte cap, evidence included when it must', async () => {
    const { store: s } = store({ maxCount: 100, maxBytes: 2_500 });
    const e = await s.save('cam-1', jpeg(1000), 'evidence', '01ARZ3NDEKTSV4RRFFQ69G5FAV');
    await s.save('cam-1', jpeg(1000), 'evidence', '01ARZ3NDEKTSV4RRFFQ69G5FAW');
    const last = await s.save('cam-1', jpeg(1000), 'routine');
    expect(s.totals().bytes).toBeLessThanOrEqual(2_500);
    expect(() => s.get(e.id)).toThrow(/not found/);
    expect(s.get(last.id).bytes).toBe(1000);
    expect(readdirSync(s.dir)).toHaveLength(2);
  });

  it('rejects ids that are not ULIDs and tidies files and rows that lost their partner', async () => {
    const { store: s } = store({ maxCount: 10, maxBytes: 1_000_000 });
    expect(() => s.file('../gateway')).toThrow(/ULID/);
    expect(() => s.get('..%2Fx')).toThrow(/ULID/);
    const kept = await s.save('cam-1', jpeg(10), 'fresh');
    const orphanRow = await s.save('cam-1', jpeg(10), 'fresh');
    rmSync(s.file(orphanRow.id));
    writeFileSync(join(s.dir, '01ARZ3NDEKTSV4RRFFQ69G5FAV.jpg.tmp'), 'x');
    expect(s.reconcile()).toEqual({ files: 1, rows: 1, tightened: 0 });
    expect(s.totals().count).toBe(1);
    expect(s.get(kept.id).id).toBe(kept.id);
  });
});

describe('camera rules', () => {
  it('maps vendor topics to motion, tamper, line and field crossing', () => {
    const n = (topic: string, data: Record<string, string>) => ({ topic, operation: 'Changed' as const, utcTime: null, source: {}, data });
    expect(classifyNotification(n('RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' }))).toEqual({ kind: 'motion', active: true });
    expect(classifyNotification(n('VideoSource/MotionAlarm', { State: 'false' }))).toEqual({ kind: 'motion', active: false });
    expect(classifyNotification(n('RuleEngine/TamperDetector/Tamper', { IsTamper: 'true' }))).toEqual({ kind: 'tamper', active: true });
    expect(classifyNotification(n('VideoSource/GlobalSceneChange/ImagingService', { State: 'true' })).kind).toBe('tamper');
    expect(classifyNotification(n('RuleEngine/LineDetector/Crossed', { ObjectId: '3' }))).toEqual({ kind: 'line_crossing', active: true });
    expect(classifyNotification(n('RuleEngine/FieldDetector/ObjectsInside', { IsInside: 'true' }))).toEqual({ kind: 'field_crossing', active: true });
    expect(classifyNotification(n('Device/Trigger/DigitalInput', { LogicalState: 'true' })).kind).toBe('other');
  });

  it('checks time windows in the school time zone, including overnight ones', () => {
    const tz = 'Asia/Shanghai';
    const at = (iso: string): number => Date.parse(iso);
    const school = [{ days: [1, 2, 3, 4, 5], from: '07:00', to: '18:00' }];
    expect(withinWindows(school, at('2026-09-01T02:00:00Z'), tz)).toBe(true); // Tue 10:00 local
    expect(withinWindows(school, at('2026-09-01T12:00:00Z'), tz)).toBe(false); // Tue 20:00 local
    expect(withinWindows(school, at('2026-09-05T02:00:00Z'), tz)).toBe(false); // Sat
    const night = [{ days: [5], from: '22:00', to: '06:00' }];
    expect(withinWindows(night, at('2026-09-04T15:00:00Z'), tz)).toBe(true); // Fri 23:00
    expect(withinWindows(night, at('2026-09-04T20:00:00Z'), tz)).toBe(true); // Sat 04:00, Friday's window
    expect(withinWindows(night, at('2026-09-05T20:00:00Z'), tz)).toBe(false); // Sun 04:00
  });

  it('reads notifications as the onvif library parses them and drops those without a topic', () => {
    const { notifications, dropped } = normalizeNotifications([
      {
        topic: { _: 'tns1:RuleEngine/CellMotionDetector/Motion', $: { Dialect: 'x' } },
        message: {
          message: {
            $: { UtcTime: new Date('2026-09-01T00:00:00Z'), PropertyOperation: 'Initialized' },
            source: { simpleItem: [{ $: { Name: 'Token', Value: 1 } }, { $: { Name: 'Rule', Value: 'R' } }] },
            data: { simpleItem: { $: { Name: 'IsMotion', Value: false } } },
          },
        },
      },
      { message: {} },
    ], 20);
    expect(dropped).toBe(1);
    expect(notifications).toEqual([
      {
        topic: 'RuleEngine/CellMotionDetector/Motion',
        operation: 'Initialized',
        utcTime: '2026-09-01T00:00:00.000Z',
        source: { Token: '1', Rule: 'R' },
        data: { IsMotion: 'false' },
        kind: 'motion',
        active: false,
      },
    ]);
    // Past the MessageLimit the pull asked for, nothing is read: counted instead.
    const many = Array.from({ length: 50 }, () => ({ topic: { _: 'tns1:RuleEngine/TamperDetector/Tamper' }, message: { message: {} } }));
    const capped = normalizeNotifications(many, 20);
    expect(capped.notifications).toHaveLength(20);
    expect(capped.overLimit).toBe(30);
  });
});

describe('camera credentials', () => {
  it('round-trips, is bound to the camera id and fails clearly under another key', () => {
    const box = new CredentialBox('a passphrase for camera secrets');
    const sealed = box.encrypt('cam-1', 'p@ss');
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain('p@ss');
    expect(box.decrypt('cam-1', sealed)).toBe('p@ss');
    expect(() => box.decrypt('cam-2', sealed)).toThrow(/secretKey/);
    expect(() => new CredentialBox('0'.repeat(64)).decrypt('cam-1', sealed)).toThrow(/secretKey/);
    expect(new CredentialBox('ab'.repeat(32)).decrypt('cam-1', new CredentialBox('ab'.repeat(32)).encrypt('cam-1', 'x'))).toBe('x');
  });
});

describe('generated JPEG', () => {
  it('is a baseline JPEG of the requested size', () => {
    const b = renderCard({ width: 100, height: 60, hue: 120, caption: 'CAM-1', stamp: '2026-09-01 08:00:00' });
    expect(b.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(b.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    const sof = b.indexOf(Buffer.from([0xff, 0xc0]));
    expect(sof).toBeGreaterThan(0);
    expect(b.readUInt16BE(sof + 5)).toBe(60);
    expect(b.readUInt16BE(sof + 7)).toBe(100);
    expect(b[sof + 9]).toBe(3);
  });
});

describe('simulated camera', () => {
  it('stamps its pictures in the school time zone, as a school sets its cameras, not in UTC', async () => {
    // A security-desk walkthrough: the demo camera's picture read 2026-12-06 17:14 while the console said 12/7 01:14.
    const ep = {
      id: 'cam-stamp', host: 'simulated', port: 0, devicePath: '/', auth: 'auto' as const, requestTimeoutMs: 500, pullTimeoutMs: 3_000,
      snapshotTimeoutMs: 500, snapshotMaxBytes: 1_000_000, maxReplyBytes: 2_097_152,
    };
    const at = Date.UTC(2026, 11, 6, 17, 14, 34);
    const cam = new SimulatedSession(ep, () => at, () => 0.5, 'Asia/Shanghai');
    try {
      const hue = createHash('sha1').update('cam-stamp').digest()[0]! * (360 / 256);
      const card = (stamp: string): Buffer => renderCard({ width: 480, height: 270, hue, caption: 'cam-stamp', stamp, motion: false });
      const picture = await cam.snapshot();
      expect(picture.equals(card('2026-12-07 01:14:34'))).toBe(true);
      expect(picture.equals(card('2026-12-06 17:14:34'))).toBe(false);
    } finally {
      cam.close();
    }
  });

  it('loses a held pull to an outage even when it is back by the end, and reports motion again afterwards', async () => {
    let t = 0; // up for 2 s, down for 2 s, every 4 s
    const cam = new SimulatedSession(
      {
        id: 'cam-sim', host: 'simulated', port: 0, devicePath: '/', auth: 'auto', requestTimeoutMs: 500, pullTimeoutMs: 3_000,
        snapshotTimeoutMs: 500, snapshotMaxBytes: 1_000_000, maxReplyBytes: 2_097_152, simulation: { motionEveryS: 1, offlineEveryS: 4, offlineForS: 2 },
      },
      () => t,
      () => 0.5, // the next motion 1 s from now
    );
    try {
      await cam.subscribe();
      const held = cam.pull(); // held until the motion at t = 1 s (one real second)
      await new Promise((r) => setTimeout(r, 100));
      t = 4_100; // meanwhile it went down at 2 s and came back at 4 s
      await expect(held).rejects.toMatchObject({ code: 'unreachable' });
      await cam.subscribe();
      t = 5_200; // past its next motion, 1 s after the lost pull, and still up (down again from 6 s)
      const next = await cam.pull();
      expect(next.notifications.map((n) => n.data)).toEqual([{ IsMotion: 'true' }]);
    } finally {
      cam.close();
    }
  });
});

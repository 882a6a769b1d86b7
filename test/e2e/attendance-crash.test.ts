/**
 * The attendance register survives `kill -9` at the morning bell: the built gateway runs as its own process, a
 * flood of gate taps arrives over MQTT, and the process is killed without warning while they are decided. After
 * the kill, every granted gate tap in the `taps` table is counted in `attendance_days`, and nothing else is: a
 * tap and its register row commit together or not at all, so the city's attendance summary never misses a
 * student whose tap the gate let through.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { startBin, type BinGateway } from '../helpers/bin.js';
import { crashRandom } from '../helpers/crash-seed.js';
import { tempDir } from '../helpers/gateway.js';

const READERS = ['demo-gate-in', 'demo-gate-out'];
const dataDir = tempDir('campus-attendance-crash-');
let gw: BinGateway | undefined;

afterAll(() => {
  if (gw && gw.child.exitCode === null && gw.child.signalCode === null) gw.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function openDb(): BetterSqlite3.Database {
  return new BetterSqlite3(join(dataDir, 'gateway.db'), { readonly: true, fileMustExist: true });
}

describe('attendance register after kill -9 during a burst of gate taps', () => {
  it('counts every granted gate tap that was stored, and only those', async () => {
    gw = await startBin(['start', '--demo'], { CAMPUS_DATA_DIR: dataDir });
    let db = openDb();
    const uids = (db.prepare(`SELECT c.uid FROM cards c JOIN persons p ON p.id = c.person_id WHERE c.status = 'active' AND c.match = 'exact' ORDER BY p.id`).all() as { uid: string }[]).map(
      (r) => r.uid,
    );
    db.close();
    expect(uids.length).toBeGreaterThan(300);

    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000 });
    await client.subscribeAsync('campus/readers/+/decision');
    // Kill at a seeded moment once granted taps are being decided: after a seeded number of granted answers (so
    // some work certainly committed first: answers go out after their commit), then a seeded delay, not on an
    // answer, which would aim the kill at the quiet point between commits.
    const { seed, random } = crashRandom('attendance-crash');
    const grantedBeforeKill = 1 + Math.floor(random() * 200);
    const delayMs = random() * 250;
    let granted = 0;
    const killed = new Promise<void>((resolve) => {
      const onMessage = (_topic: string, payload: Buffer): void => {
        if ((JSON.parse(payload.toString()) as { granted?: boolean }).granted === true) granted++;
        if (granted < grantedBeforeKill) return;
        client.off('message', onMessage);
        setTimeout(() => {
          gw!.child.kill('SIGKILL');
          resolve();
        }, delayMs);
      };
      client.on('message', onMessage);
    });
    // The whole school through the main gate's two readers at once: the gateway is still deciding when it dies.
    for (const uid of uids) for (const r of READERS) client.publish(`campus/readers/${r}/tap`, JSON.stringify({ uid }), { qos: 0 });
    await killed;
    await gw.exited;
    await client.endAsync(true).catch(() => {});

    db = openDb();
    const stored = db
      .prepare(
        `SELECT person_id AS person, SUM(direction = 'in') AS tapsIn, SUM(direction = 'out') AS tapsOut FROM taps
         WHERE granted = 1 AND gate_id IS NOT NULL AND direction IS NOT NULL AND person_id IS NOT NULL GROUP BY person_id ORDER BY person_id`,
      )
      .all();
    const register = db
      .prepare(`SELECT person_id AS person, SUM(taps_in) AS tapsIn, SUM(taps_out) AS tapsOut FROM attendance_days GROUP BY person_id ORDER BY person_id`)
      .all();
    const atGate = (db.prepare(`SELECT COUNT(*) AS n FROM taps WHERE reader_id IN ('demo-gate-in', 'demo-gate-out')`).get() as { n: number }).n;
    db.close();
    console.log(`killed with ${atGate} of ${uids.length * READERS.length} taps stored at the main gate; ${register.length} people in the register`);
    const replay = `replay with CRASH_SEED=${seed}`;
    // Work happened before the kill: the granted taps answered are stored, so neither side can be empty.
    expect(atGate, replay).toBeGreaterThanOrEqual(grantedBeforeKill);
    expect(stored.length, replay).toBeGreaterThan(0);
    expect(register, replay).toEqual(stored);
  });
});

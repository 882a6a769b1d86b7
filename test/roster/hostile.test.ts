/**
 * Roster imports against the built gateway as school IT runs it (`--max-old-space-size=256`): a hostile file
 * cannot take the gateway down, and a big file is read while the gates keep deciding taps.
 */
import { request } from 'node:http';
import { rmSync } from 'node:fs';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startBin, type BinGateway } from '../helpers/bin.js';
import { tempDir } from '../helpers/gateway.js';

const dataDir = tempDir('campus-roster-hostile-');
let gw: BinGateway;
let admin: string;

beforeAll(async () => {
  gw = await startBin(['start', '--demo'], { CAMPUS_DATA_DIR: dataDir, NODE_OPTIONS: '--max-old-space-size=256' });
  admin = await login(gw.base);
}, 30_000);

afterAll(async () => {
  if (gw && gw.child.exitCode === null && gw.child.signalCode === null) {
    gw.child.kill('SIGKILL');
    await gw.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

interface Report {
  committed: boolean;
  rows: number;
  created: number;
  rejected: unknown[];
  errors: string[];
}

/** POSTs the file; `onSent` runs once the whole body has left for the gateway (node:http, so that moment is known). */
function upload(body: Buffer, query = 'cardFormat=hex', onSent?: () => void): Promise<{ status: number; report: Report }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${gw.base}/api/v1/people/import?${query}`,
      { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/csv', 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode!, report: JSON.parse(Buffer.concat(chunks).toString()) as Report });
          } catch (err) {
            reject(err as Error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body, onSent);
  });
}

describe('a hostile roster file', () => {
  it('refuses 2 MB of one-character lines with a clear error, and the gateway stays up', async () => {
    const hostile = Buffer.from('a\n'.repeat(1_000_000));
    const { status, report } = await upload(hostile);
    expect(status).toBe(422);
    expect(report.committed).toBe(false);
    expect(report.errors.join(' ')).toMatch(/external_id/);
    // Past the header, a file of a million rows is refused by the row cap before it is held in memory.
    const rows = await upload(Buffer.from(`external_id,name\n${'a\n'.repeat(1_000_000)}`));
    expect(rows.status).toBe(422);
    expect(rows.report.errors.join(' ')).toMatch(/more than 20000 rows/);
    expect(rows.report.created).toBe(0);
    expect(gw.child.exitCode).toBeNull();
    expect((await fetch(`${gw.base}/healthz`)).status).toBe(200);
  }, 60_000);
});

describe('a 20 MB roster while the gates are busy', () => {
  it('keeps answering taps while the file is checked and while it is applied', async () => {
    // 20,000 students, each row carrying ~1 KB in a column the roster does not read (a school's notes).
    const note = 'x'.repeat(1_000);
    const lines = ['学号,姓名,年级,班级,作息组,备注'];
    for (let i = 0; i < 20_000; i++) lines.push(`R${String(i).padStart(6, '0')},学生${i},初一,初一(${i % 12}),day,${note}`);
    const file = Buffer.from(lines.join('\n'));
    expect(file.length).toBeGreaterThan(20_000_000);

    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000 });
    await client.subscribeAsync('campus/readers/demo-gate-in/decision');
    let decisions = 0;
    client.on('message', () => decisions++);
    // A gate taps one card after another, each as soon as the previous one is answered (a terminal number on
    // each, so that the reader's debounce counts every one).
    let tapping = true;
    const gate = (async () => {
      for (let seq = 1; tapping; seq++) {
        const answered = new Promise<void>((resolve) => client.once('message', () => resolve()));
        await client.publishAsync('campus/readers/demo-gate-in/tap', JSON.stringify({ uid: '0A1B2C3D', seq }), { qos: 1 });
        await answered;
      }
    })();
    try {
      await new Promise<void>((resolve) => client.once('message', () => resolve()));
      // Decisions that arrive after the whole file has been sent and before the report comes back were made while
      // the gateway held the file: reading it, checking it, writing it.
      let second: Promise<Response> | undefined;
      for (const query of ['cardFormat=hex&dryRun=true', 'cardFormat=hex']) {
        let atSent = -1;
        const { status, report } = await upload(file, query, () => {
          atSent = decisions;
          // A second import meanwhile is turned away rather than held in memory beside the first.
          second ??= fetch(`${gw.base}/api/v1/people/import?cardFormat=hex`, {
            method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/csv' }, body: '学号,姓名\nR1,甲\n',
          });
        });
        const during = decisions - atSent;
        expect(status).toBe(200);
        expect(report).toMatchObject({ rows: 20_000, rejected: [], errors: [] });
        expect(during).toBeGreaterThan(5);
      }
      const refused = await second!;
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('conflict');
      const res = await fetch(`${gw.base}/api/v1/people?externalId=R019999`, { headers: { authorization: `Bearer ${admin}` } });
      expect(((await res.json()) as { items: { name: string }[] }).items[0]).toMatchObject({ name: '学生19999' });
    } finally {
      tapping = false;
      await gate.catch(() => {});
      await client.endAsync(true);
    }
  }, 120_000);
});
